"""Target-group ProtocolVersion against the client's protocol: which requests ALB refuses with 464.

AWS "HTTP 464": the request protocol is HTTP/1.1 while the target group's protocol version is gRPC or
HTTP/2; the request is gRPC while the version is HTTP/1.1; or the request is HTTP/2 but not POST while the
version is gRPC. HTTP2 and GRPC groups receive HTTP/2 from the load balancer (``http2.upstream``).
"""

from __future__ import annotations

from emulator.dataplane.alb.request import Request

H2_VERSIONS = frozenset(("HTTP2", "GRPC"))
PROTOCOL_MISMATCH = 464


def is_grpc(request: Request) -> bool:
    """gRPC over HTTP/2: content-type ``application/grpc`` (``+proto``, ``+json``, ...)."""
    return any(n == b"content-type" and v[:16].lower() == b"application/grpc" for n, v in request.headers)


def mismatch(request: Request, version: str | None) -> bool:
    """True when ALB answers this request 464 for a target group with this ProtocolVersion."""
    if not request.http2:
        return version in H2_VERSIONS
    if version == "GRPC":
        return request.method != "POST"
    return version != "HTTP2" and is_grpc(request)
