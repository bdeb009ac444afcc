"""From a store snapshot to what should be running: listener configs and target-group runtimes.

Pure functions of the snapshot (plus the runtimes that already exist, whose live state is kept), so
the reconciler can build the next routing tables off the event loop and swap them in at once.

This module is the data plane's only reader of store resources: the rest of it sees them through the
``ListenerConfig`` and ``TargetGroupRuntime`` built here. Every read goes through ``reads.read``, which
refuses a kind ``reads.READS`` does not declare; the API waits for the data plane after a write to one of
those kinds, so what it waits for follows from what the data plane reads.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from api_models.attribute_views import TargetGroupSettings
from api_models.resources import Listener, LoadBalancer, Rule, TargetGroup, TargetRegistration
from api_models.security_groups import SecurityGroupSource, SecurityGroupView
from api_models.trust_stores import TrustStore
from api_models.web_acls import WebAclSource, WebAclView
from emulator.dataplane.addresses import transports
from emulator.dataplane.published_ports import PublishedPorts
from emulator.dataplane.reads import Snapshot, read
from emulator.dataplane.runtime import ListenerConfig
from emulator.dataplane.selection.group import InstanceAddress, TargetAddress, TargetGroupRuntime
from emulator.timing import Timing

log = logging.getLogger("elbv2_emulator.dataplane")


def forwarded_target_groups(actions: list[dict]) -> Iterator[str]:
    """ARNs of the target groups a list of actions forwards to."""
    for action in actions:
        if action.get("Type") != "forward":
            continue
        if action.get("TargetGroupArn"):
            yield action["TargetGroupArn"]
        for weighted in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
            yield weighted["TargetGroupArn"]


def drain_deadline(reg: TargetRegistration, delay_seconds: float, timing: Timing) -> datetime | None:
    """When a deregistered target stops draining and is gone (None while it is registered); ``delay_seconds``
    is its group's ``deregistration_delay.timeout_seconds``."""
    if reg.deregistered_at is None:
        return None
    return reg.deregistered_at + timedelta(seconds=timing.seconds(delay_seconds))


def target_group_runtimes(
    snapshot: Snapshot,
    existing: dict[str, TargetGroupRuntime],
    timing: Timing,
    now: datetime,
    instance_address: InstanceAddress,
) -> tuple[dict[str, TargetGroupRuntime], datetime | None]:
    """Runtimes for every target group (existing ones updated in place) and the next drain deadline."""
    groups = {g.key: g for g in read(snapshot, TargetGroup)}
    delays = {arn: TargetGroupSettings.of(g.attributes).deregistration_delay_seconds for arn, g in groups.items()}
    registrations: dict[str, list[TargetRegistration]] = defaultdict(list)
    next_deadline: datetime | None = None
    for reg in read(snapshot, TargetRegistration):
        group = groups.get(reg.target_group_arn)
        if group is None:
            continue
        deadline = drain_deadline(reg, delays[reg.target_group_arn], timing)
        if deadline is not None and deadline <= now:
            continue  # drained: gone from the data plane even before the store purges it
        if deadline is not None and (next_deadline is None or deadline < next_deadline):
            next_deadline = deadline
        registrations[reg.target_group_arn].append(reg)
    resolve = _target_address(snapshot, groups, instance_address)
    runtimes: dict[str, TargetGroupRuntime] = {}
    for arn, group in groups.items():
        runtime = existing.get(arn) or TargetGroupRuntime(group)
        runtime.update(group, registrations[arn], resolve)
        runtimes[arn] = runtime
    return runtimes, next_deadline


def _target_address(
    snapshot: Snapshot, groups: dict[str, TargetGroup], instance_address: InstanceAddress
) -> TargetAddress:
    """Where a registration's traffic goes: ip -> its Id; instance -> as resolved; alb -> that ALB's address.
    None when it cannot take traffic: a stopped instance, or an ip that is a load balancer's own address
    (AWS: Target.IpUnusable; locally it would loop the load balancer onto itself)."""
    lb_addresses = {lb.key: lb.address for lb in read(snapshot, LoadBalancer)}
    in_use = set(lb_addresses.values())

    def resolve(reg: TargetRegistration) -> str | None:
        target_type = groups[reg.target_group_arn].TargetType
        if target_type == "instance":
            return instance_address(reg.account, reg.region, reg.Id)
        if target_type == "alb":
            return lb_addresses.get(reg.Id, "127.0.0.1")
        return None if reg.Id in in_use else reg.Id

    return resolve


def listener_configs(
    snapshot: Snapshot, groups: dict[str, TargetGroupRuntime], listen_host: str | None,
    security_groups: Mapping[str, SecurityGroupView] | None = None,
    web_acls: Mapping[str, WebAclView] | None = None, published: PublishedPorts | None = None,
) -> dict[str, ListenerConfig]:
    """One config per listener whose load balancer exists, with its rules in evaluation order.
    ``listen_host`` replaces every LB's own address when set (one shared address, e.g. in a container);
    ``published`` (--listener-ports) gives each listener with a data plane its port of the range;
    ``security_groups``: the enforced groups of each load balancer (by ARN) that has some; ``web_acls``: the
    associated web ACL of each application load balancer (by ARN) that has one."""
    balancers = {lb.key: lb for lb in read(snapshot, LoadBalancer)}
    trust_stores = {store.key: store for store in read(snapshot, TrustStore)}
    rules_by_listener: dict[str, list[Rule]] = defaultdict(list)
    for rule in read(snapshot, Rule):
        rules_by_listener[rule.listener_arn].append(rule)
    listeners = [listener for listener in read(snapshot, Listener) if listener.LoadBalancerArn in balancers]
    ports = published.assign([listener.key for listener in listeners if transports(listener.Protocol)]) if published else {}
    configs: dict[str, ListenerConfig] = {}
    for listener in listeners:
        balancer = balancers[listener.LoadBalancerArn]
        rules = sorted(rules_by_listener[listener.key], key=lambda r: r.priority_number)
        actions = [a for r in rules for a in r.Actions] + list(listener.DefaultActions)
        used = {arn: groups[arn] for arn in forwarded_target_groups(actions) if arn in groups}
        host = listen_host or balancer.address
        store = trust_stores.get((listener.MutualAuthentication or {}).get("TrustStoreArn") or "")
        configs[listener.key] = ListenerConfig(
            listener, balancer, tuple(rules), used, host, store,
            may_remap=listen_host is None and listener.key not in ports, published_port=ports.get(listener.key),
            security_groups=(security_groups or {}).get(balancer.LoadBalancerArn),
            web_acl=(web_acls or {}).get(balancer.LoadBalancerArn),
        )
    return configs


def security_group_views(snapshot: Snapshot, source: SecurityGroupSource) -> dict[str, SecurityGroupView]:
    """The inbound rules, as EC2 holds them now, of every load balancer that has security groups (by ARN).
    Gateway LBs have none; an NLB created without any has none either (AWS: it filters nothing)."""
    return {lb.LoadBalancerArn: source(lb.account, lb.region, tuple(lb.SecurityGroups))
            for lb in read(snapshot, LoadBalancer) if lb.SecurityGroups}


def web_acl_views(snapshot: Snapshot, source: WebAclSource, window_scale: float) -> dict[str, WebAclView]:
    """The web ACL WAFv2 associates with each application load balancer now (by ARN), rate-based windows on
    the data plane's clock (``window_scale``). AWS WAF protects ALBs only, not NLBs or Gateway LBs."""
    views = {}
    for lb in read(snapshot, LoadBalancer):
        if (lb.Type or "application") == "application":
            try:
                view = source(lb.account, lb.region, lb.LoadBalancerArn)
            except Exception:  # unreadable: the load balancer's traffic is blocked (logged), not let through
                log.exception("cannot read the web ACL of %s", lb.LoadBalancerArn)
                view = WebAclView(lb.LoadBalancerArn, "(unreadable)", lb.account, "")
            if view is not None:
                views[lb.LoadBalancerArn] = replace(view, window_scale=window_scale)
    return views
