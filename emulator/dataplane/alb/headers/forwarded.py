"""The request head an ALB sends to a target, as a typed ``UpstreamRequest`` that the upstream leg serialises.

AWS "HTTP headers and Application Load Balancers"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html): X-Forwarded-For
per ``routing.http.xff_header_processing.mode`` (+ ``xff_client_port``), X-Forwarded-Proto and
X-Forwarded-Port always overwritten, X-Amzn-Trace-Id kept or created, Host per
``routing.http.preserve_host_header``, invalid header names dropped per
``routing.http.drop_invalid_header_fields`` ("Load balancer attributes").
"""

from __future__ import annotations

import re
import time
from binascii import hexlify
from random import getrandbits

from api_models.attribute_views import LoadBalancerSettings
from api_models.resources import LoadBalancer
from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.headers.trailers import relayable
from emulator.dataplane.alb.heads import Headers, PoolKey, UpstreamRequest
from emulator.dataplane.alb.request import Request

MAX_XFF_ENTRIES = 30  # more -> 463 (AWS "HTTP 463")
# Hop-by-hop headers and those the LB rewrites itself are not copied from the client. (``Trailer``, which
# announces the trailer fields, is end to end and passes: the legs relay trailers, ``headers.trailers``.)
_SKIP = frozenset(
    b"connection keep-alive proxy-connection te transfer-encoding upgrade expect host "
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
        "epoch_second", "root_prefix",
    )

    def __init__(self, protocol: str, port: int, balancer: LoadBalancer, settings: LoadBalancerSettings,
                 lb_only: frozenset[bytes] = frozenset()) -> None:
        """``lb_only``: lower-case names of headers only the LB sets (mTLS/TLS info); client copies are dropped."""
        proto = b"https" if protocol == "HTTPS" else b"http"
        self.proto, self.port = proto, b"%d" % port  # X-Forwarded-Proto and -Port of every request
        default = (protocol == "HTTP" and port == 80) or (protocol == "HTTPS" and port == 443)
        self.port_suffix = b"" if default else b":%d" % port
        self.own_host = (balancer.DNSName or "").encode("latin-1") + self.port_suffix  # for HTTP/1.0 requests without a Host
        self.xff_mode = settings.xff_mode
        self.xff_port = settings.xff_client_port
        self.preserve_host = settings.preserve_host_header
        self.drop_invalid = settings.drop_invalid_header_fields
        self.skip = _SKIP | lb_only
        self.epoch_second, self.root_prefix = -1, b""  # new trace ids' epoch part, formatted once a second

    def client_entry(self, request: Request) -> bytes:
        if not self.xff_port:
            return request.peer.encode("latin-1")
        if ":" in request.peer:
            return b"[%s]:%d" % (request.peer.encode("latin-1"), request.peer_port)
        return b"%s:%d" % (request.peer.encode("latin-1"), request.peer_port)

    def passes_trailer(self, name: bytes) -> bool:
        """Whether a client's trailer field (lower-case name) reaches the target: relayable as a trailer, and
        passed on as a header would be (not one the LB sets; a valid name under drop_invalid_header_fields)."""
        return relayable(name) and name not in self.skip and not (
            self.drop_invalid and not _VALID_NAME.fullmatch(name))

    def build(self, exchange: Exchange, key: PoolKey, http2: bool) -> UpstreamRequest | None:
        """The head for the target at ``key``, or None when the request carries too many X-Forwarded-For
        entries (AWS 463).

        A chunked request body is re-chunked to the target; otherwise the client's Content-Length (if any) is
        forwarded. The connection's TLS headers and the authentication claims are added last."""
        request = exchange.request
        drop_invalid, skip = self.drop_invalid, self.skip
        # One pass over the client's headers: pass on what is passed on, pick up what the LB rewrites.
        headers: Headers = []
        existing: bytes | None = None  # X-Forwarded-For values joined
        trace = length = None
        for header in request.headers:
            name = header[0]
            if name in skip:
                if name == b"x-forwarded-for":
                    existing = header[1] if existing is None else existing + b", " + header[1]
                elif name == b"x-amzn-trace-id":
                    trace = header[1] if trace is None else trace
                elif name == b"content-length":
                    length = header[1] if length is None else length
                continue
            if drop_invalid and not _VALID_NAME.fullmatch(name):
                continue
            headers.append(header)
        if existing and existing.count(b",") + 1 > MAX_XFF_ENTRIES:
            return None
        if self.xff_mode == "append":
            entry = self.client_entry(request)
            existing = existing + b", " + entry if existing else entry
        elif self.xff_mode != "preserve":
            existing = None  # remove
        if trace:
            trace_id = forwarded_trace(trace.decode("latin-1")).encode("latin-1")
        else:  # the common case, made cheaply (same value as ``trace_id``): the epoch part is formatted once a
            second = int(time.time())  # second, the random part hex-encoded from its bytes (cheaper than %x)
            if second != self.epoch_second:
                self.epoch_second, self.root_prefix = second, b"Root=1-%08x-" % second
            trace_id = self.root_prefix + hexlify(getrandbits(96).to_bytes(12, "big"))
        if not request.host:
            host = self.own_host
        elif self.preserve_host:
            host = request.host.encode("latin-1")
        else:
            host = request.host_name.encode("latin-1") + self.port_suffix
        url = request.url
        tls, claims = exchange.leg.tls_headers, exchange.extra
        return UpstreamRequest(
            request.method.encode("latin-1"), url if url[:1] == b"/" else _origin_form(url), host, headers,
            existing, self.proto, self.port, trace_id, [*tls, *claims] if tls or claims else (), length,
            exchange.chunked, exchange.upgrade, exchange.ambiguous, key, http2)


def _origin_form(url: bytes) -> bytes:
    """AWS forwards the path of an absolute-form request URI (its authority becomes the Host). (An
    origin-form URI, nearly every request, is passed on as it is without a call.)"""
    if url[:7].lower() == b"http://" or url[:8].lower() == b"https://":
        slash = url.find(b"/", url.find(b"//") + 2)
        return url[slash:] if slash >= 0 else b"/"
    return url
