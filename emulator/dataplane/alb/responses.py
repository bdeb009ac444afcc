"""Responses the load balancer makes itself (checklist 5.3), byte-exact and prebuilt.

ALB answers with ``Server: awselb/2.0`` and a small HTML page such as
``<html><head><title>503 Service Temporarily Unavailable</title></head>...``.
"""

from __future__ import annotations

from functools import lru_cache

REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
    301: "Moved Permanently", 302: "Found", 400: "Bad Request", 401: "Authorization Required", 403: "Forbidden",
    404: "Not Found", 405: "Not Allowed", 408: "Request Time-out", 413: "Request Entity Too Large",
    414: "Request-URI Too Large", 460: "", 463: "", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out",
    505: "HTTP Version Not Supported",
}


def reason(status: int) -> str:
    return REASONS.get(status, "")


@lru_cache(maxsize=64)
def lb_response(status: int, keep_alive: bool) -> bytes:
    """An LB-generated error response (awselb/2.0 HTML page)."""
    title = f"{status} {reason(status)}".strip()
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()
    return build_response(status, "text/html", body, keep_alive)


def build_response(status: int, content_type: str, body: bytes, keep_alive: bool, extra: bytes = b"") -> bytes:
    """A complete response with a fixed-length body; ``extra`` is more raw header lines (CRLF-terminated)."""
    head = (
        f"HTTP/1.1 {status} {reason(status)}\r\nServer: awselb/2.0\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: {'keep-alive' if keep_alive else 'close'}\r\n"
    ).encode()
    return head + extra + b"\r\n" + body


CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
