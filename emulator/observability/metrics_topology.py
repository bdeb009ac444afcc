"""What the metrics need from the store and the health board, read once per closed period: load balancers'
dimension values and zones, which target groups each load balancer forwards to, listener rule order
(RuleEvaluations) and the healthy / unhealthy target counts.

Healthy/UnHealthyHostCount are "the number of targets that are considered healthy / unhealthy", reported
"if health checks are enabled" ("CloudWatch metrics for your Application Load Balancer", "Target group
health"), for a target group with the load balancer forwarding to it. A target's state is what
DescribeTargetHealth reports: the health board's verdict, ``healthy`` until the checker has one; draining
targets are neither.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from api_models.resources import Listener, LoadBalancer, Rule, TargetGroup, TargetRegistration
from emulator.store import Store, TargetHealthBoard

NAMESPACES = {"application": "AWS/ApplicationELB", "network": "AWS/NetworkELB"}
UNHEALTHY_STATES = frozenset({"unhealthy", "unhealthy.draining"})


@dataclass(frozen=True, slots=True)
class LoadBalancerFacts:
    account: str
    region: str
    namespace: str
    dimension: str  # the LoadBalancer dimension: app/<name>/<id> or net/<name>/<id>
    zone: str | None  # its first Availability Zone: where the emulator's one node is


@dataclass(frozen=True, slots=True)
class HostCounts:
    load_balancer_arn: str
    target_group_arn: str
    zone: str | None
    healthy: float
    unhealthy: float


def load_balancer_dimension(arn: str) -> str:
    """``arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>`` -> ``app/<name>/<id>``."""
    return arn.split(":loadbalancer/", 1)[-1]


def target_group_dimension(arn: str) -> str:
    """``arn:...:targetgroup/<name>/<id>`` -> ``targetgroup/<name>/<id>``."""
    return arn.rsplit(":", 1)[-1]


def forwarded_target_groups(actions: Iterable[dict]) -> list[str]:
    arns: list[str] = []
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": action.get("TargetGroupArn")}]
        arns += [g["TargetGroupArn"] for g in groups if g.get("TargetGroupArn") and g["TargetGroupArn"] not in arns]
    return arns


class Topology:
    """One consistent reading of the store (a ``Store.snapshot_all``) and of the health board."""

    def __init__(self, resources: dict[str, list], health: TargetHealthBoard) -> None:
        self._health = health
        self._load_balancers = {lb.LoadBalancerArn: lb for lb in resources[LoadBalancer.kind] if lb.Type in NAMESPACES}
        self._groups = {tg.TargetGroupArn: tg for tg in resources[TargetGroup.kind]}
        self._registrations: list[TargetRegistration] = list(resources[TargetRegistration.kind])
        listeners = {listener.ListenerArn: listener for listener in resources[Listener.kind]}
        self._numbered_priorities: dict[str, list[int]] = defaultdict(list)  # listener -> its numbered rules
        self._forwarding: dict[str, list[str]] = defaultdict(list)  # TG ARN -> LB ARNs forwarding to it
        for rule in resources[Rule.kind]:
            if not rule.IsDefault:
                self._numbered_priorities[rule.listener_arn].append(int(rule.Priority))
            listener = listeners.get(rule.listener_arn)
            if listener is None:
                continue
            for tg_arn in forwarded_target_groups(rule.Actions):
                if listener.LoadBalancerArn not in self._forwarding[tg_arn]:
                    self._forwarding[tg_arn].append(listener.LoadBalancerArn)

    def load_balancer(self, arn: str) -> LoadBalancerFacts | None:
        lb = self._load_balancers.get(arn)
        if lb is None:
            return None
        return LoadBalancerFacts(lb.account, lb.region, NAMESPACES[lb.Type], load_balancer_dimension(arn), self._zone(lb))

    def traffic_zone(self, arn: str) -> str | None:
        lb = self._load_balancers.get(arn)
        return self._zone(lb) if lb is not None else None

    @staticmethod
    def _zone(lb: LoadBalancer) -> str | None:
        zones = [zone.get("ZoneName") for zone in lb.AvailabilityZones if zone.get("ZoneName")]
        return zones[0] if zones else None

    def rules_evaluated(self, listener_arn: str, matched_priority: int) -> int:
        """Rules are evaluated in priority order until one matches; 0 is the default rule, evaluated last."""
        numbered = self._numbered_priorities.get(listener_arn, [])
        if matched_priority == 0:
            return len(numbered) + 1
        return sum(1 for priority in numbered if priority <= matched_priority)

    def host_counts(self) -> list[HostCounts]:
        """Healthy and unhealthy targets per (load balancer, target group, zone)."""
        tallies: dict[tuple[str, str, str | None], list[float]] = {}
        for tg_arn, lb_arns in self._forwarding.items():  # groups with no target still count 0 and 0
            group = self._groups.get(tg_arn)
            if group is None or not group.HealthCheckEnabled:
                continue
            for lb_arn in lb_arns:
                if lb_arn in self._load_balancers:
                    tallies.setdefault((lb_arn, tg_arn, self.traffic_zone(lb_arn)), [0.0, 0.0])
        for registration in self._registrations:
            group = self._groups.get(registration.target_group_arn)
            if group is None or not group.HealthCheckEnabled or registration.deregistered_at is not None:
                continue
            status = self._health.get((group.TargetGroupArn, registration.Id, registration.Port))
            state = status.state if status is not None else "healthy"
            for lb_arn in self._forwarding.get(group.TargetGroupArn, []):
                if lb_arn not in self._load_balancers:
                    continue
                zone = registration.AvailabilityZone or self.traffic_zone(lb_arn)
                counts = tallies.setdefault((lb_arn, group.TargetGroupArn, zone), [0.0, 0.0])
                counts[0] += state == "healthy"
                counts[1] += state in UNHEALTHY_STATES
        return [HostCounts(lb, tg, zone, healthy, unhealthy) for (lb, tg, zone), (healthy, unhealthy) in tallies.items()]


class TopologyReader(Protocol):
    def read(self) -> Topology: ...


class StoreTopology:
    """Reads the emulator's store and health board (``EmulatorServer.services``)."""

    def __init__(self, store: Store, health: TargetHealthBoard) -> None:
        self._store = store
        self._health = health

    def read(self) -> Topology:
        _, resources = self._store.snapshot_all()
        return Topology(resources, self._health)
