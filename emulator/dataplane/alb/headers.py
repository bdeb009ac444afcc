"""The request head an ALB sends to a target (checklist 5.2), built straight into one bytearray.

X-Forwarded-For per ``routing.http.xff_header_processing.mode`` (+ ``xff_client_port``), X-Forwarded-Proto
and X-Forwarded-Port always overwritten, X-Amzn-Trace-Id kept or created, Host per
``routing.http.preserve_host_header``, invalid header names dropped per
``routing.http.drop_invalid_header_fields``. Targets always receive HTTP/1.1.
"""

from __future__ import annotations

import re
import time
from random import getrandbits

from api_models.resources import LoadBalancer
from emulator.dataplane.alb.request import Request

MAX_XFF_ENTRIES = 30  # more -> 463 (AWS "HTTP 463")
# Hop-by-hop headers and those the LB rewrites itself are not copied from the client.
_SKIP = frozenset(
    b"connection keep-alive proxy-connection te trailer transfer-encoding upgrade expect host "
    b"x-forwarded-for x-forwarded-proto x-forwarded-port x-amzn-trace-id content-length".split()
)
_VALID_NAME = re.compile(rb"[A-Za-z0-9-]+")
_TRACE_ROOT = re.compile(r"Root=1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")
MAX_TRACE_HEADER = 7 * 1024


def trace_id() -> str:
    # X-Ray ids need uniqueness, not secrecy: the PRNG avoids a getrandom syscall per request (was 15% of
    # the data-plane thread in scripts/bench_dataplane.py's keep-alive case).
    return f"1-{int(time.time()):08x}-{getrandbits(96):024x}"


def forwarded_trace(existing: str | None) -> str:
    """AWS: add Root when absent; with a valid Root, keep it and set Self; keep custom fields."""
    if not existing or len(existing) > MAX_TRACE_HEADER or not _TRACE_ROOT.search(existing):
        return f"Root={trace_id()}"
    fields = [f for f in existing.split(";") if f and not f.startswith("Self=")]
    return ";".join([f"Self={trace_id()}", *fields])


class HeaderPolicy:
    """A listener's forwarding settings, compiled once per configuration."""

    __slots__ = (
        "proto", "port", "port_suffix", "xff_mode", "xff_port", "preserve_host", "drop_invalid", "own_host", "skip",
    )

    def __init__(self, protocol: str, port: int, balancer: LoadBalancer, lb_only: frozenset[bytes] = frozenset()) -> None:
        """``lb_only``: lower-case names of headers only the LB sets (mTLS/TLS info); client copies are dropped."""
        attrs = balancer.attributes
        self.proto = b"https" if protocol == "HTTPS" else b"http"
        self.port = str(port).encode()
        default = (protocol == "HTTP" and port == 80) or (protocol == "HTTPS" and port == 443)
        self.port_suffix = "" if default else f":{port}"
        self.own_host = balancer.DNSName + self.port_suffix  # for HTTP/1.0 requests without a Host
        self.xff_mode = attrs.get("routing.http.xff_header_processing.mode", "append")
        self.xff_port = attrs.get("routing.http.xff_client_port.enabled") == "true"
        self.preserve_host = attrs.get("routing.http.preserve_host_header.enabled") == "true"
        self.drop_invalid = attrs.get("routing.http.drop_invalid_header_fields.enabled") == "true"
        self.skip = _SKIP | lb_only

    def client_entry(self, request: Request) -> str:
        if not self.xff_port:
            return request.peer
        if ":" in request.peer:
            return f"[{request.peer}]:{request.peer_port}"
        return f"{request.peer}:{request.peer_port}"

    def build(self, request: Request, body: str, upgrade: bytes | None, extra: bytes = b"") -> bytearray | int:
        """The upstream head, or an LB status code (463) when the request must be refused.

        ``body`` is ``"chunked"``, ``"none"`` or the Content-Length value as a string; ``extra`` is more
        CRLF-terminated header lines (the connection's TLS headers, authentication claims)."""
        xff = [v for n, v in request.headers if n == b"x-forwarded-for"]
        existing = b", ".join(xff).decode("latin-1")
        if existing and existing.count(",") + 1 > MAX_XFF_ENTRIES:
            return 463
        head = bytearray(request.method.encode())
        head += b" "
        head += _origin_form(request.url)
        head += b" HTTP/1.1\r\nHost: "
        head += self._host(request).encode("latin-1")
        head += b"\r\n"
        drop_invalid, skip = self.drop_invalid, self.skip
        for name, value in request.headers:
            if name in skip or (drop_invalid and not _VALID_NAME.fullmatch(name)):
                continue
            head += name
            head += b": "
            head += value
            head += b"\r\n"
        if self.xff_mode == "append":
            entry = self.client_entry(request)
            head += f"x-forwarded-for: {existing}, {entry}\r\n".encode() if existing else f"x-forwarded-for: {entry}\r\n".encode()
        elif self.xff_mode == "preserve" and existing:
            head += b"x-forwarded-for: " + existing.encode("latin-1") + b"\r\n"
        head += b"x-forwarded-proto: " + self.proto + b"\r\nx-forwarded-port: " + self.port + b"\r\n"
        trace = next((v for n, v in request.headers if n == b"x-amzn-trace-id"), None)
        head += b"x-amzn-trace-id: " + forwarded_trace(trace.decode("latin-1") if trace else None).encode() + b"\r\n"
        head += extra
        if body == "chunked":
            head += b"transfer-encoding: chunked\r\n"
        elif body != "none":
            head += b"content-length: " + body.encode() + b"\r\n"
        if upgrade is not None:
            head += b"connection: upgrade\r\nupgrade: " + upgrade + b"\r\n\r\n"
        else:
            head += b"connection: keep-alive\r\n\r\n"
        return head

    def _host(self, request: Request) -> str:
        if not request.host:
            return self.own_host
        if self.preserve_host:
            return request.host
        return request.host_name + self.port_suffix


def _origin_form(url: bytes) -> bytes:
    """AWS forwards the path of an absolute-form request URI (its authority becomes the Host)."""
    if url[:7].lower() == b"http://" or url[:8].lower() == b"https://":
        slash = url.find(b"/", url.find(b"//") + 2)
        return url[slash:] if slash >= 0 else b"/"
    return url
