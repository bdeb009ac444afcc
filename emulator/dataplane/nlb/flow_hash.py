"""Which target a new flow goes to.

AWS NLB: "selects a target from the target group using a flow hash algorithm based on the protocol, source
IP address, source port, destination IP address, destination port, and TCP sequence number"; each TCP
connection keeps its target for its life, a UDP flow until it has been idle for 120 s. With ``source_ip``
stickiness the hash covers only the client IP, so one client always reaches one target, until health or
registrations change the set of routable targets (then the hash maps onto the new set, as on AWS).
The TCP sequence number is not visible to a userspace proxy; the source port spreads connections instead.
"""

from __future__ import annotations

from emulator.dataplane.targets import Target, TargetGroupRuntime


def pick(group: TargetGroupRuntime, protocol: str, client: tuple, listener: tuple, sticky: bool) -> Target | None:
    """The target for a new flow, or None when the group has nothing routable."""
    routable = group.routable
    if not routable:
        return None
    if len(routable) == 1:
        return routable[0]
    key = hash(client[0]) if sticky else hash((protocol, client[0], client[1], listener[0], listener[1]))
    return routable[key % len(routable)]


def sticky_source_ip(group: TargetGroupRuntime) -> bool:
    attributes = group.group.attributes
    return attributes.get("stickiness.enabled") == "true" and attributes.get("stickiness.type") == "source_ip"
