"""Health and fail-open: which of a group's targets new requests and flows may go to.

AWS ("Target group health", ALB and NLB user guides): traffic goes to healthy targets; when fewer are healthy
than ``target_group_health.unhealthy_state_routing.minimum_healthy_targets.count`` (default 1) or
``...percentage`` (default off), the load balancer fails open and routes to every target, healthy or not.
Here "every target" leaves out targets still in their initial checks: while all are initial, nothing is
routable (an ALB answers 503). Draining targets (deregistered) and unusable ones (a stopped instance, a load
balancer's own address) are never routable, nor counted.
"""

from __future__ import annotations

from collections.abc import Iterable

from api_models.attribute_views import TargetGroupSettings
from emulator.dataplane.selection.target import Target


def routable_targets(targets: Iterable[Target], settings: TargetGroupSettings) -> list[Target]:
    """Healthy, non-draining targets; with too few healthy ones, every checked one (fail open)."""
    live = [t for t in targets if not t.draining and not t.unusable]
    healthy = [t for t in live if t.healthy]
    if enough_healthy(len(healthy), len(live), settings):
        return healthy
    return [t for t in live if not t.initial]


def enough_healthy(healthy: int, live: int, settings: TargetGroupSettings) -> bool:
    """Whether ``healthy`` of ``live`` targets meet the group's minimum (else the group fails open)."""
    if healthy < settings.min_healthy_count:
        return False
    percentage = settings.min_healthy_percentage
    return percentage is None or healthy * 100 >= percentage * live
