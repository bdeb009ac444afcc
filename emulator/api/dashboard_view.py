"""What the dashboard shows, gathered in one JSON-ready snapshot.

Resources are read through the control plane's own Describe* handlers (``dispatch.handle``), so the page
shows exactly what DescribeLoadBalancers, DescribeListeners, DescribeRules, DescribeTargetGroups and
DescribeTargetHealth answer, in every account and region that has resources: states, reasons and the
health board's verdicts included. Where each listener is bound comes from the data plane's listener report
(``GET /_emulator/listeners``); recent traffic and rates from the observability feed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from api_models.observations import FlowRecord, RequestRecord
from api_models.resources import LoadBalancer, TargetGroup
from emulator.api.dashboard_text import action_text, condition_text, flow_row, request_row, transform_text
from emulator.api.elbv2 import DataPlaneView
from emulator.control.context import Services
from emulator.control.dispatch import handle
from emulator.observability.recent import ListenerRate

Scope = tuple[str, str]  # (account, region)
SHOWN_RECORDS = 100  # rows of each traffic table
SERVED_PROTOCOLS = frozenset(("HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "QUIC", "TCP_QUIC"))  # what the data plane binds


class TrafficFeed(Protocol):
    """The recent traffic (``emulator.observability.recent.RecentTraffic``)."""

    def requests(self) -> list[RequestRecord]: ...

    def flows(self) -> list[FlowRecord]: ...

    def rates(self) -> dict[str, ListenerRate]: ...


def _all_pages(services: Services, scope: Scope, operation: str, request: dict[str, Any], member: str) -> Iterator[dict[str, Any]]:
    """Every item a Describe* call lists, following its NextMarker."""
    marker: str | None = None
    while True:
        result = handle(services, *scope, operation, {**request, **({"Marker": marker} if marker else {})}).result or {}
        yield from result.get(member) or []
        marker = result.get("NextMarker")
        if not marker:
            return


def _scopes(services: Services) -> list[Scope]:
    """The (account, region) pairs holding load balancers or target groups, in a stable order."""
    found = {(r.account, r.region) for cls in (LoadBalancer, TargetGroup) for r in services.store.snapshot(cls)}
    return sorted(found)


def snapshot(services: Services, dataplane: DataPlaneView, feed: TrafficFeed | None) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready values (``feed`` None: traffic is not recorded)."""
    rates = feed.rates() if feed is not None else {}
    bindings = {entry["ListenerArn"]: entry for entry in dataplane.listener_report()}
    load_balancers: list[dict[str, Any]] = []
    target_groups: list[dict[str, Any]] = []
    for scope in _scopes(services):
        groups = list(_all_pages(services, scope, "DescribeTargetGroups", {}, "TargetGroups"))
        group_names = {group["TargetGroupArn"]: group["TargetGroupName"] for group in groups}
        shown = [_load_balancer(services, scope, lb, bindings, rates, group_names)
                 for lb in _all_pages(services, scope, "DescribeLoadBalancers", {}, "LoadBalancers")]
        lb_names = {lb["arn"]: lb["name"] for lb in shown}
        load_balancers += shown
        target_groups += [_target_group(services, scope, group, lb_names) for group in groups]
    labels = {listener["arn"]: f"{lb['name']} :{listener['port']}"
              for lb in load_balancers for listener in lb["listeners"]}
    group_names = {group["arn"]: group["name"] for group in target_groups}
    requests = feed.requests()[:SHOWN_RECORDS] if feed is not None else []
    flows = feed.flows()[:SHOWN_RECORDS] if feed is not None else []
    return {
        "time": time.time(),
        "recording": feed is not None,
        "loadBalancers": load_balancers,
        "targetGroups": target_groups,
        "requests": [request_row(record, labels, group_names) for record in requests],
        "flows": [flow_row(record, labels, group_names) for record in flows],
    }


def _load_balancer(
    services: Services, scope: Scope, lb: dict[str, Any], bindings: dict[str, dict[str, Any]],
    rates: dict[str, ListenerRate], group_names: dict[str, str],
) -> dict[str, Any]:
    arn = lb["LoadBalancerArn"]
    listeners = _all_pages(services, scope, "DescribeListeners", {"LoadBalancerArn": arn}, "Listeners")
    return {
        "arn": arn,
        "name": lb["LoadBalancerName"],
        "type": lb["Type"],
        "scheme": lb.get("Scheme", ""),
        "state": lb["State"]["Code"],
        "dnsName": lb.get("DNSName", ""),
        "account": scope[0],
        "region": scope[1],
        "created": _timestamp(lb.get("CreatedTime")),
        "listeners": [_listener(services, scope, listener, bindings, rates, group_names) for listener in listeners],
    }


def _listener(
    services: Services, scope: Scope, listener: dict[str, Any], bindings: dict[str, dict[str, Any]],
    rates: dict[str, ListenerRate], group_names: dict[str, str],
) -> dict[str, Any]:
    arn = listener["ListenerArn"]
    binding = bindings.get(arn) or {}
    rate = rates.get(arn)
    rules = _all_pages(services, scope, "DescribeRules", {"ListenerArn": arn}, "Rules")
    return {
        "arn": arn,
        "protocol": listener.get("Protocol", ""),
        "port": listener.get("Port"),
        "bound": {"state": binding.get("State") or _unbound_state(listener.get("Protocol")), "address": binding.get("Address"),
                  "requested": binding.get("RequestedAddress"), "reason": binding.get("Reason")},
        "perSecond": round(rate.per_second, 2) if rate is not None else 0.0,
        "total": rate.total if rate is not None else 0,
        "rules": [_rule(rule, group_names) for rule in rules],  # DescribeRules' order: priority, default last
    }


def _unbound_state(protocol: str | None) -> str:
    """A listener the data plane does not report: about to be bound, or of a protocol it does not serve
    (Gateway Load Balancer's GENEVE: README "Where load balancers listen")."""
    return "pending" if protocol in SERVED_PROTOCOLS else "not served"


def _rule(rule: dict[str, Any], group_names: dict[str, str]) -> dict[str, Any]:
    return {
        "priority": rule["Priority"],
        "conditions": [condition_text(condition) for condition in rule.get("Conditions") or []],
        "transforms": [transform_text(transform) for transform in rule.get("Transforms") or []],
        "actions": [action_text(action, group_names)
                    for action in sorted(rule.get("Actions") or [], key=lambda action: action.get("Order", 0))],
    }


def _target_group(services: Services, scope: Scope, group: dict[str, Any], lb_names: dict[str, str]) -> dict[str, Any]:
    arn = group["TargetGroupArn"]
    health = (handle(services, *scope, "DescribeTargetHealth", {"TargetGroupArn": arn}).result or {})
    check = "off"
    if group.get("HealthCheckEnabled"):
        where = " ".join(str(part) for part in (group.get("HealthCheckProtocol"), group.get("HealthCheckPath")) if part)
        interval = int(group.get("HealthCheckIntervalSeconds") or 0)
        scaled = services.timing.seconds(interval)  # --timing fast runs AWS's intervals 100 times faster
        every = f"every {interval} s" + (f" ({scaled:g} s at {services.timing.mode} timing)" if scaled != interval else "")
        check = (f"{where} {every}, healthy after {group.get('HealthyThresholdCount')}, "
                 f"unhealthy after {group.get('UnhealthyThresholdCount')} checks")
    return {
        "arn": arn,
        "name": group["TargetGroupName"],
        "protocol": group.get("Protocol", ""),
        "port": group.get("Port"),
        "targetType": group.get("TargetType", ""),
        "healthCheck": check,
        "loadBalancers": [lb_names.get(arn, arn) for arn in group.get("LoadBalancerArns") or []],
        "targets": [_target(description) for description in health.get("TargetHealthDescriptions") or []],
    }


def _target(description: dict[str, Any]) -> dict[str, Any]:
    target, health = description["Target"], description["TargetHealth"]
    return {
        "id": target["Id"],
        "port": target.get("Port"),
        "zone": target.get("AvailabilityZone", ""),
        "state": health["State"],
        "reason": health.get("Reason", ""),
        "description": health.get("Description", ""),
    }


def _timestamp(moment: Any) -> float | None:
    return moment.timestamp() if isinstance(moment, datetime) else None
