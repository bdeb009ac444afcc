"""The data plane's live view of one target group: where its targets are and which may take traffic.

One ``TargetGroupRuntime`` per target group is shared by every listener that forwards to it, so health
state and balancing state (round-robin position, outstanding requests, flow tables) are per group, as on
AWS. The reconciler refreshes it on every store change; the health checker marks targets up or down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from api_models.resources import TargetGroup, TargetRegistration
from emulator.store.target_health import TargetKey

# Resolves an instance id to the local address its traffic goes to (see README "Target types"), or None
# while the instance is not running (AWS: unused/Target.InvalidState, no traffic).
InstanceAddress = Callable[[str, str, str], "str | None"]  # (account, region, instance id) -> host
# Resolves a registration to the host its traffic goes to, whatever the group's target type; None when
# the target cannot take traffic (a stopped instance, a load balancer's own address).
TargetAddress = Callable[[TargetRegistration], "str | None"]


@dataclass(eq=False, slots=True)
class Target:
    """One registered (Id, Port) with the address traffic is sent to."""

    key: TargetKey
    id: str
    host: str
    port: int
    draining: bool = False  # deregistered: finishes what it has, gets nothing new
    healthy: bool = True  # set by the health checker; True for targets it does not check
    initial: bool = False  # checked but no verdict yet: not routable, not even when failing open
    unusable: bool = False  # a stopped instance or a load balancer's own address: never routable, not checked
    healthy_since: float = 0.0  # time.monotonic() when the health checker last saw it become healthy
    slow_start: float = 0.0  # seconds its share ramps up after healthy_since (0: no slow start)
    outstanding: int = 0  # requests or flows in flight (least_outstanding_requests, draining)
    extra: dict[str, object] = field(default_factory=dict)  # per-algorithm state owned by a data plane


class TargetGroupRuntime:
    def __init__(self, group: TargetGroup) -> None:
        self.group = group
        self.targets: dict[TargetKey, Target] = {}
        self.routable: list[Target] = []  # what new requests/flows may go to; rebuilt by refresh_routable()
        self.generation = 0  # bumped whenever ``routable`` changes, so pickers can cache per generation

    @property
    def arn(self) -> str:
        return self.group.TargetGroupArn

    def update(self, group: TargetGroup, registrations: list[TargetRegistration], resolve: TargetAddress) -> None:
        """Apply the group's stored settings and registrations, keeping live state of surviving targets."""
        self.group = group
        current: dict[TargetKey, Target] = {}
        for reg in registrations:
            key: TargetKey = (self.arn, reg.Id, reg.Port)
            target = self.targets.get(key)
            if target is None:
                port = reg.Port if reg.Port is not None else (group.Port or 0)
                host = resolve(reg)
                target = Target(key, reg.Id, host or "", port, unusable=host is None)
            target.draining = reg.deregistered_at is not None
            current[key] = target
        self.targets = current
        self.refresh_routable()

    def refresh_routable(self) -> None:
        """Healthy, non-draining targets; with too few healthy ones, fail open to every checked one (AWS).
        Unusable targets (a stopped instance, a load balancer's own IP) are never routable, nor counted.

        "Too few" is ``target_group_health.unhealthy_state_routing.minimum_healthy_targets.*`` (count 1 and
        percentage off by default: fail open when none is healthy). Targets still in their initial checks
        are never routable: while all are initial, nothing is (an ALB answers 503, checklist 3.4).
        """
        live = [t for t in self.targets.values() if not t.draining and not t.unusable]
        healthy = [t for t in live if t.healthy]
        self.routable = healthy if self._enough(len(healthy), len(live)) else [t for t in live if not t.initial]
        self.generation += 1

    def _enough(self, healthy: int, live: int) -> bool:
        attributes = self.group.attributes
        count = attributes.get("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", "1")
        percentage = attributes.get("target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", "off")
        if healthy < max(int(count), 1):
            return False
        return percentage == "off" or healthy * 100 >= int(percentage) * live


def slow_start_factor(target: Target, now: float) -> float:
    """Share of a full weight a target gets now: ramps linearly from 0 to 1 over its slow start.

    ``now`` is ``time.monotonic()``. AWS: "the load balancer linearly increases the number of
    requests that it sends to the target" during ``slow_start.duration_seconds``. A small floor keeps a
    target in its first instant from getting nothing at all.
    """
    if target.slow_start <= 0.0:
        return 1.0
    elapsed = now - target.healthy_since
    if elapsed >= target.slow_start:
        return 1.0
    return max(elapsed / target.slow_start, 0.01)
