"""Typed heads that move through the request chain; each leg serialises them itself.

The client legs parse into ``request.Request``; the chain turns it into the ``UpstreamRequest`` a target
receives (AWS "HTTP headers and Application Load Balancers",
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html), which the
HTTP/1.1 upstream writes as one head and the HTTP/2 upstream as one HEADERS frame. Responses come back as
(status, reason, header list) and LB-made ones as ``responses.LocalResponse``.
"""

from __future__ import annotations

Headers = list[tuple[bytes, bytes]]
PoolKey = tuple[str, int, bool]  # a target's (host, port, tls): what upstream connections are pooled by


class UpstreamRequest:
    """The request head for a target: ``headers`` are the client's passed-on headers (lower-case names, in
    arrival order) followed by the ones the LB adds; framing (Content-Length, Transfer-Encoding, Connection,
    Upgrade) is the leg's, from ``length``/``chunked``/``upgrade``/``close``."""

    __slots__ = ("method", "target", "host", "headers", "length", "chunked", "upgrade", "close")

    def __init__(self, method: bytes, target: bytes, host: bytes, headers: Headers, length: bytes | None,
                 chunked: bool, upgrade: bytes | None) -> None:
        self.method = method
        self.target = target  # origin-form path and query
        self.host = host
        self.headers = headers
        self.length = length  # the client's Content-Length, forwarded when the body is not re-chunked
        self.chunked = chunked
        self.upgrade = upgrade
        self.close = False  # desync mitigation: the target connection is not reused either


class ToTarget:
    """The chain's forward decision: send ``head`` to the target at ``key``, over HTTP/2 when ``http2``."""

    __slots__ = ("head", "key", "http2")

    def __init__(self, head: UpstreamRequest, key: PoolKey, http2: bool) -> None:
        self.head, self.key, self.http2 = head, key, http2
