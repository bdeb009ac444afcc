"""One request/response exchange (the chain's request context) and the legs it joins, declared as Protocols:
the downstream leg (an HTTP/1.x client connection or one HTTP/2 stream) and the upstream leg (a pooled
HTTP/1.1 target connection or one stream of an HTTP/2 target connection)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from api_models.observations import RequestRecord
from emulator.dataplane.alb.heads import Headers, UpstreamRequest
from emulator.dataplane.alb.recording import Recording
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.responses import LocalResponse
from emulator.dataplane.selection.forward import Selection

# Bits of ``Downstream.pause_reading``: why client reading is paused (each reason resumes independently).
PIPELINE, UPSTREAM_FULL, UPGRADING = 1, 2, 4


class Upstream(Protocol):
    """What the client legs need of a target leg."""

    closed: bool
    until_close: bool  # the response has no length: it ends when the target closes

    def write(self, data: bytes | bytearray) -> None: ...  # raw bytes (a WebSocket tunnel)
    def send_body(self, exchange: Exchange, body: bytes) -> None: ...
    def end_body(self, exchange: Exchange) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def close(self) -> None: ...


class Downstream(Protocol):
    """What the chain, the forwarders and the target legs need of a client leg."""

    loop: asyncio.AbstractEventLoop
    active: Exchange | None  # the exchange being answered (None once answered)
    tls_headers: Headers  # mTLS / TLS-info headers added to every request of the connection
    upstream_active: float  # when a target last sent something
    write_paused: bool  # the client reads slower than the target sends: the target's reading must wait
    batch: bytearray | None

    @property
    def closing(self) -> bool: ...  # the client is gone or going: nothing more is sent
    def respond(self, exchange: Exchange, response: LocalResponse) -> None: ...
    def forward(self, exchange: Exchange, decision: UpstreamRequest) -> None: ...
    def fail(self, status: int) -> None: ...
    def send(self, data: bytes | bytearray) -> None: ...
    def flush(self) -> None: ...
    def pause_reading(self, reason: int) -> None: ...
    def resume_reading(self, reason: int) -> None: ...
    def upstream_head(self, status: int, reason: bytes, headers: Headers, end: bool = False) -> None: ...
    def upstream_body(self, body: bytes) -> None: ...
    def upstream_trailers(self, trailers: Headers) -> None: ...  # relayable ones (headers.trailers), before done
    def upstream_done(self) -> None: ...
    def upstream_failed(self, upstream: Upstream, status: int) -> None: ...
    def upstream_upgraded(self, upstream: Upstream, rest: bytes) -> None: ...


class Exchange:
    __slots__ = (
        "request", "leg", "keep_alive", "http10", "chunked", "upgrade", "expect", "head_only", "request_done",
        "body", "trailers", "upstream", "selection", "local", "response_started",
        "response_chunked", "discard", "ambiguous", "identity", "action", "extra", "body_waiter",
        "record", "recording",
    )

    def __init__(self, request: Request, leg: Downstream) -> None:
        self.request = request
        self.leg = leg
        self.keep_alive = True
        self.http10 = False
        self.chunked = False  # request body is chunked (re-chunked to the target)
        self.upgrade: bytes | None = None  # Upgrade header value (WebSocket)
        self.expect = False  # Expect: 100-continue
        self.head_only = False  # HEAD request
        self.request_done = False
        self.body: list[bytes] | None = []  # request body received before the upstream is ready
        self.trailers: Headers | None = None  # the request's relayable trailer fields (headers.trailers), if any
        self.upstream: Upstream | None = None
        self.selection: Selection | None = None  # the target chosen (its outstanding count held) and its cookies
        self.local: LocalResponse | None = None  # an LB-made response waiting for the request body to end
        self.response_started = False
        self.response_chunked = False
        self.discard = False  # request body is read and dropped (local response)
        self.ambiguous = False  # desync "Ambiguous": neither the client nor the target connection is reused
        self.identity = False  # Transfer-Encoding ends in identity: Content-Length frames the body
        self.action: object = None  # the matched rule's compiled action (the chain's routing stage sets it)
        self.extra: Sequence[tuple[bytes, bytes]] = ()  # headers the LB adds to the upstream request (authentication claims)
        self.body_waiter: asyncio.Future[None] | None = None  # a stage waiting for more of the body (WAF)
        # What is observed of it (``recording``), only when traffic is observed; ``recording`` is set with it.
        self.record: RequestRecord | None = None
        self.recording: Recording

    def body_arrived(self) -> None:
        """More of the request body, or its end, arrived (the client legs call this while ``body_waiter`` is
        set): wake the stage waiting for it."""
        waiter, self.body_waiter = self.body_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def release(self) -> None:
        """The exchange is over (answered, failed, or abandoned by its client): report its record, and release
        what it holds (its target's outstanding count; an unfinished upstream)."""
        record = self.record
        if record is not None:
            self.record = None  # (reported once: the legs may release an exchange again as they close)
            self.recording.report(record)
        selection = self.selection
        if selection is not None:
            if selection.target is not None:
                selection.target.outstanding -= 1
            self.selection = None
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None
