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
        "proto_port", "port_suffix", "xff_mode", "xff_port", "preserve_host", "drop_invalid", "own_host", "skip",
    )

    def __init__(self, protocol: str, port: int, balancer: LoadBalancer, lb_only: frozenset[bytes] = frozenset()) -> None:
        """``lb_only``: lower-case names of headers only the LB sets (mTLS/TLS info); client copies are dropped."""
        attrs = balancer.attributes
        proto = b"https" if protocol == "HTTPS" else b"http"
        # The same two lines on every request of this listener: built once.
        self.proto_port = b"x-forwarded-proto: %s\r\nx-forwarded-port: %d\r\n" % (proto, port)
        default = (protocol == "HTTP" and port == 80) or (protocol == "HTTPS" and port == 443)
        self.port_suffix = b"" if default else b":%d" % port
        self.own_host = balancer.DNSName.encode("latin-1") + self.port_suffix  # for HTTP/1.0 requests without a Host
        self.xff_mode = attrs.get("routing.http.xff_header_processing.mode", "append")
        self.xff_port = attrs.get("routing.http.xff_client_port.enabled") == "true"
        self.preserve_host = attrs.get("routing.http.preserve_host_header.enabled") == "true"
        self.drop_invalid = attrs.get("routing.http.drop_invalid_header_fields.enabled") == "true"
        self.skip = _SKIP | lb_only

    def client_entry(self, request: Request) -> bytes:
        if not self.xff_port:
            return request.peer.encode("latin-1")
        if ":" in request.peer:
            return b"[%s]:%d" % (request.peer.encode("latin-1"), request.peer_port)
        return b"%s:%d" % (request.peer.encode("latin-1"), request.peer_port)

    def build(self, request: Request, chunked: bool, upgrade: bytes | None, extra: bytes = b"") -> bytearray | int:
        """The upstream head, or an LB status code (463) when the request must be refused.

        ``chunked``: the body is re-chunked to the target; otherwise the client's Content-Length (if any) is
        forwarded. ``extra`` is more CRLF-terminated header lines (the connection's TLS headers, authentication
        claims)."""
        head = bytearray(b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (
            request.method.encode("latin-1"), _origin_form(request.url), self._host(request)))
        drop_invalid, skip = self.drop_invalid, self.skip
        # One pass over the client's headers: copy what is passed on, pick up what the LB rewrites.
        existing: bytes | None = None  # X-Forwarded-For values joined
        trace = length = None
        for name, value in request.headers:
            if name in skip:
                if name == b"x-forwarded-for":
                    existing = value if existing is None else existing + b", " + value
                elif name == b"x-amzn-trace-id":
                    trace = value if trace is None else trace
                elif name == b"content-length":
                    length = value if length is None else length
                continue
            if drop_invalid and not _VALID_NAME.fullmatch(name):
                continue
            head += name
            head += b": "
            head += value
            head += b"\r\n"
        if existing and existing.count(b",") + 1 > MAX_XFF_ENTRIES:
            return 463
        if self.xff_mode == "append":
            entry = self.client_entry(request)
            head += b"x-forwarded-for: %s, %s\r\n" % (existing, entry) if existing else b"x-forwarded-for: %s\r\n" % entry
        elif self.xff_mode == "preserve" and existing:
            head += b"x-forwarded-for: %s\r\n" % existing
        head += self.proto_port
        if trace:
            head += b"x-amzn-trace-id: %s\r\n" % forwarded_trace(trace.decode("latin-1")).encode("latin-1")
        else:  # the common case, formatted as bytes directly (same value as ``trace_id``)
            head += b"x-amzn-trace-id: Root=1-%08x-%024x\r\n" % (int(time.time()), getrandbits(96))
        head += extra
        if chunked:
            head += b"transfer-encoding: chunked\r\n"
        elif length is not None:
            head += b"content-length: %s\r\n" % length
        if upgrade is not None:
            head += b"connection: upgrade\r\nupgrade: %s\r\n\r\n" % upgrade
        else:
            head += b"connection: keep-alive\r\n\r\n"
        return head

    def _host(self, request: Request) -> bytes:
        if not request.host:
            return self.own_host
        if self.preserve_host:
            return request.host.encode("latin-1")
        return request.host_name.encode("latin-1") + self.port_suffix


def _origin_form(url: bytes) -> bytes:
    """AWS forwards the path of an absolute-form request URI (its authority becomes the Host)."""
    if url[:1] == b"/":  # origin-form, nearly every request
        return url
    if url[:7].lower() == b"http://" or url[:8].lower() == b"https://":
        slash = url.find(b"/", url.find(b"//") + 2)
        return url[slash:] if slash >= 0 else b"/"
    return url
