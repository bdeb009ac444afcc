"""Which target a new NLB flow goes to.

AWS ("Network Load Balancers", "Routing algorithm"): the NLB "selects a target from the target group using a
flow hash algorithm based on the protocol, source IP address, source port, destination IP address,
destination port, and TCP sequence number"; each TCP connection keeps its target for its life, a UDP flow
until it has been idle for 120 s. With ``source_ip`` stickiness ("Sticky sessions", NLB target group
attributes) the hash covers only the client IP, so one client always reaches one target, until health or
registrations change the set of routable targets (then the hash maps onto the new set, as on AWS).
The TCP sequence number is not visible to a userspace proxy; the source port spreads connections instead.
"""

from __future__ import annotations

from emulator.dataplane.selection.group import TargetGroupRuntime
from emulator.dataplane.selection.target import Target


def flow_target(
    group: TargetGroupRuntime, protocol: str, client: tuple[str, int], listener: tuple[str, int]
) -> Target | None:
    """The target for a new flow from ``client`` to ``listener`` (both (ip, port)); None if nothing is routable."""
    routable = group.routable
    if len(routable) <= 1:
        return routable[0] if routable else None
    if group.stickiness.source_ip:
        key = hash(client[0])
    else:
        key = hash((protocol, client[0], client[1], listener[0], listener[1]))
    return routable[key % len(routable)]
