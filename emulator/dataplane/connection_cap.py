"""How many client connections one listener holds at once: a proxy's maxconn, sized to the process's descriptors.

AWS scales a load balancer out instead of refusing clients; one process on a laptop cannot, and a listener
that takes every file descriptor starves the API and every other listener (each ALB client connection can hold
a second descriptor for its target, each NLB flow holds one). So each listener refuses connections beyond its
cap, and keeps serving those it has: an ALB or NLB TCP listener resets them, an NLB UDP listener drops the
datagrams of new clients (TCP and UDP flows are counted apart). ``ELBV2_EMULATOR_MAX_CONNECTIONS`` sets the cap; by default it is half of what the
descriptor limit leaves after a reserve for the API and the health checker, between 64 and 10,000.
"""

from __future__ import annotations

import os
import resource

RESERVED_DESCRIPTORS = 256
DEFAULT_CEILING = 10_000
FLOOR = 64


def max_client_connections() -> int:
    configured = os.environ.get("ELBV2_EMULATOR_MAX_CONNECTIONS")
    if configured:
        return max(1, int(configured))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_CEILING
    return min(DEFAULT_CEILING, max(FLOOR, (soft - RESERVED_DESCRIPTORS) // 2))
