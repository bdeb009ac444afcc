"""``Target``: one registered (Id, Port) with the address its traffic goes to, and its live state.

Shared by the group's runtime, the health checker (which sets ``healthy``, ``initial``, ``healthy_since`` and
``slow_start``) and the data planes (``outstanding``, ``extra``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.store.target_health import TargetKey


@dataclass(eq=False, slots=True)
class Target:
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
    tls: bool = False  # reached over TLS (an HTTPS or TLS target group)
    server_id: bytes | None = None  # a QUIC target's 8-byte server ID (RegisterTargets QuicServerId)
    endpoint: tuple[str, int, bool] = field(init=False)  # (host, port, tls): what ALB target connections are pooled by
    extra: dict[str, object] = field(default_factory=dict)  # per-data-plane state (the NLB's open flows)

    def __post_init__(self) -> None:
        self.endpoint = (self.host, self.port, self.tls)  # (built once: the ALB reads it per request)
