"""Which flows run to which target, so a target's flows can be reset when it leaves the group.

Each open flow is kept in a set in ``Target.extra`` (the data-plane-owned slot on the shared target). The
health checker calls ``reset_target_flows`` when a target turns unhealthy and the group's
``target_health_state.unhealthy.connection_termination.enabled`` is "true" (the AWS default); listeners call
it when a deregistered target's delay ends and ``deregistration_delay.connection_termination.enabled`` is on.
"""

from __future__ import annotations

from typing import Protocol, cast

from emulator.dataplane.selection.group import Target

FLOWS = "nlb.flows"


class Flow(Protocol):
    def reset(self) -> None:
        """Drop the flow at once: TCP legs are closed with RST, a UDP flow forgets its target."""
        ...


def _flows(target: Target) -> set[Flow] | None:
    return cast("set[Flow] | None", target.extra.get(FLOWS))  # only this module writes the key


def track(target: Target, flow: Flow) -> None:
    flows = _flows(target)
    if flows is None:
        flows = set()
        target.extra[FLOWS] = flows
    flows.add(flow)
    target.outstanding += 1


def untrack(target: Target, flow: Flow) -> None:
    flows = _flows(target)
    if flows is not None and flow in flows:
        flows.discard(flow)
        target.outstanding -= 1


def reset_target_flows(target: Target) -> int:
    """Reset every NLB flow to ``target`` (call on the data-plane loop); returns how many were reset."""
    flows = list(_flows(target) or ())
    for flow in flows:
        flow.reset()
    return len(flows)
