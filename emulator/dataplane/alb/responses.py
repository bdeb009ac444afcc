"""Responses the load balancer makes itself, as typed values that each client leg serialises (and caches).

ALB answers with ``Server: awselb/2.0`` and a small HTML page such as
``<html><head><title>503 Service Temporarily Unavailable</title></head>...`` ("Troubleshoot your Application
Load Balancers", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

Headers = list[tuple[bytes, bytes]]

REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
    301: "Moved Permanently", 302: "Found", 400: "Bad Request", 401: "Authorization Required", 403: "Forbidden",
    404: "Not Found", 405: "Not Allowed", 408: "Request Time-out", 413: "Request Entity Too Large",
    414: "Request-URI Too Large", 460: "", 463: "", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out",
    505: "HTTP Version Not Supported",
}
SERVER = (b"Server", b"awselb/2.0")


def reason(status: int) -> str:
    return REASONS.get(status, "")


class LocalResponse:
    """A complete LB-made response: status, ``headers`` (original case, ``Server`` and ``Content-Type`` first,
    then e.g. ``Location``/``Set-Cookie``) and a fixed-length body. The legs add the framing (Content-Length,
    Connection) and the listener's response-header settings.

    ``cacheable``: the same object answers many requests (error pages, fixed responses), so a leg may keep
    its serialised form; per-request ones (redirects, logins) are serialised once and dropped. ``close``: the
    request cannot be served on this connection at all (answered at once, then the connection closes)."""

    __slots__ = ("status", "reason", "headers", "body", "cacheable", "close")

    def __init__(self, status: int, content_type: str, body: bytes, extra: Sequence[tuple[bytes, bytes]] = (),
                 cacheable: bool = False, close: bool = False) -> None:
        self.status = status
        self.reason = reason(status).encode("latin-1")
        self.headers: Headers = [SERVER, (b"Content-Type", content_type.encode("latin-1")), *extra]
        self.body = body
        self.cacheable = cacheable
        self.close = close


@lru_cache(maxsize=64)
def lb_response(status: int, close: bool = False) -> LocalResponse:
    """An LB-generated error response (awselb/2.0 HTML page); one shared object per status."""
    title = f"{status} {reason(status)}".strip()
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()
    return LocalResponse(status, "text/html", body, cacheable=True, close=close)


def redirect(status: int, location: str, extra: Sequence[tuple[bytes, bytes]] = ()) -> LocalResponse:
    """A 301/302 with an empty body (redirect actions, the authenticate flow)."""
    return LocalResponse(status, "text/html", b"", [(b"Location", location.encode("latin-1")), *extra])
