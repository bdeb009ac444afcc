"""Typed heads that move through the request chain; each leg serialises them itself.

The client legs parse into ``request.Request``; the chain turns it into the ``UpstreamRequest`` a target
receives (AWS "HTTP headers and Application Load Balancers",
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html), which the
HTTP/1.1 upstream writes as one head and the HTTP/2 upstream as one HEADERS frame. Responses come back as
(status, reason, header list) and LB-made ones as ``responses.LocalResponse``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Headers = list[tuple[bytes, bytes]]
PoolKey = tuple[str, int, bool]  # a target's (host, port, tls): what upstream connections are pooled by


@dataclass(slots=True, eq=False)
class UpstreamRequest:
    """The chain's forward decision: the request head for the target at ``key``, sent over HTTP/2 when
    ``http2``. ``headers`` are the client's passed-on headers (lower-case names, in arrival order); the
    headers the LB adds follow them: X-Forwarded-For (unless None), -Proto and -Port, X-Amzn-Trace-Id, then
    ``added`` (the connection's TLS headers, authentication claims). Framing (Content-Length,
    Transfer-Encoding, Connection, Upgrade) is the leg's, from ``length``/``chunked``/``upgrade``/``close``.
    (A slotted class, not a NamedTuple: one is built per request and its fields are read by the legs, and
    CPython 3.11 specialises slot reads but not a NamedTuple's field reads.)"""

    method: bytes
    target: bytes  # origin-form path and query
    host: bytes
    headers: Headers
    forwarded_for: bytes | None
    forwarded_proto: bytes
    forwarded_port: bytes
    trace_id: bytes
    added: Sequence[tuple[bytes, bytes]]
    length: bytes | None  # the client's Content-Length, forwarded when the body is not re-chunked
    chunked: bool
    upgrade: bytes | None
    close: bool  # desync mitigation: the target connection is not reused either
    key: PoolKey
    http2: bool

    def lb_headers(self) -> Headers:
        """The headers the LB adds, as (name, value) pairs."""
        added = [(b"x-forwarded-for", self.forwarded_for)] if self.forwarded_for is not None else []
        added += ((b"x-forwarded-proto", self.forwarded_proto), (b"x-forwarded-port", self.forwarded_port),
                  (b"x-amzn-trace-id", self.trace_id))
        added += self.added
        return added
