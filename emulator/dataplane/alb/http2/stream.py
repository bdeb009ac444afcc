"""One HTTP/2 stream of a client connection (``http2.client``): an ``exchange.Downstream``, like an HTTP/1.1
``ClientConnection``, that serialises responses as HTTP/2 frames itself.

Response bytes wait in ``pending`` for the client's flow-control window; while they wait, the target leg's
reading is paused. Request DATA is acknowledged as it is handed on, unless the target leg is full
(``pause_reading``), in which case the acknowledgement waits and the client's window closes.
"""

from __future__ import annotations

import asyncio
from time import time
from typing import Protocol

import h2.connection
import h2.errors
import h2.exceptions

import emulator.dataplane.alb.upstream.http1 as http1_upstream
import emulator.dataplane.alb.upstream.http2 as h2_upstream
from emulator.dataplane.alb.client_records import Observed
from emulator.dataplane.alb.exchange import Exchange, Upstream
from emulator.dataplane.alb.flow_control import send_within_window
from emulator.dataplane.alb.headers.response import ResponsePolicy
from emulator.dataplane.alb.heads import Headers, UpstreamRequest
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.responses import LocalResponse, lb_response
from emulator.dataplane.alb.state import Listener

# Connection-specific fields HTTP/2 forbids (RFC 9113 8.2.2): never relayed from an HTTP/1.1 target.
CONNECTING = 8  # a ``held`` bit (beside exchange.UPSTREAM_FULL): the body waits for the target connection
CONNECT_POLL = 0.005  # how often a body waiting for its target connection checks that it is attached
H2_HOP = frozenset((b"connection", b"keep-alive", b"transfer-encoding", b"proxy-connection", b"upgrade", b"te"))


class Connection(Protocol):
    """What a stream needs of its HTTP/2 client connection."""

    listener: Listener
    loop: asyncio.AbstractEventLoop
    h2: h2.connection.H2Connection
    tls_headers: Headers
    created: float
    closing: bool
    observed: Observed | None

    def output_soon(self) -> None: ...
    def stream_closed(self, stream: Stream) -> None: ...


class Stream:
    __slots__ = (
        "conn", "id", "listener", "loop", "exchange", "active", "batch", "pending", "trailers", "end_pending",
        "ended", "held", "unacked", "upstream_active", "write_paused", "tls_headers", "created",
    )

    def __init__(self, conn: Connection, stream_id: int, request: Request) -> None:
        self.conn = conn
        self.id = stream_id
        self.listener = conn.listener
        self.loop = conn.loop
        self.exchange = exchange = Exchange(request, self)
        recording = conn.listener.state.recording
        if recording is not None:  # (HTTP/2: the head arrives whole, in one HEADERS frame and its CONTINUATIONs)
            exchange.record, exchange.recording = recording.begin(request, conn.observed), recording
        self.active: Exchange | None = exchange  # None once answered
        self.batch: bytearray | None = None  # target bytes gathered during one read (see ``send``)
        self.pending = bytearray()  # response bytes waiting for flow-control window
        self.trailers: Headers | None = None
        self.end_pending = False  # END_STREAM goes out once ``pending`` is sent
        self.ended = False  # END_STREAM or RST_STREAM sent: nothing more goes out
        self.held = 0  # why acknowledging request DATA waits (bits, as ClientConnection.paused)
        self.unacked = 0
        self.upstream_active = conn.loop.time()
        self.write_paused = False  # ``pending`` is not empty: the target leg must not read
        self.tls_headers = conn.tls_headers
        self.created = conn.created

    @property
    def closing(self) -> bool:
        return self.ended or self.conn.closing

    # -- the request (called by H2ClientConnection) ------------------------------------------------

    def request_body(self, data: bytes, flow_length: int) -> None:
        exchange = self.exchange
        if exchange.record is not None:
            exchange.record.received_bytes += len(data)
        if not exchange.discard:
            upstream = exchange.upstream
            if upstream is not None and exchange.body is None:
                upstream.send_body(exchange, data)
            elif exchange.body is not None:
                exchange.body.append(data)  # sent when the target leg is ready
                if exchange.body_waiter is not None:
                    exchange.body_arrived()
                if not self.held & CONNECTING:
                    self.pause_reading(CONNECTING)
                    self.loop.call_later(CONNECT_POLL, self._wait_attached)
        if self.held:
            self.unacked += flow_length
        else:
            self.conn.h2.acknowledge_received_data(flow_length, self.id)

    def request_trailers(self, fields: Headers) -> None:
        """The client's trailing HEADERS (its END_STREAM follows as ``request_end``): what passes is relayed."""
        passes = self.listener.state.policy.passes_trailer
        self.exchange.trailers = [field for field in fields if passes(field[0])] or None

    def request_end(self) -> None:
        exchange = self.exchange
        if exchange.request_done:
            return
        exchange.request_done = True
        if exchange.body_waiter is not None:
            exchange.body_arrived()
        upstream = exchange.upstream
        if exchange.local is not None:
            self.respond(exchange, exchange.local)
        elif upstream is not None and exchange.body is None:
            upstream.end_body(exchange)

    def _wait_attached(self) -> None:
        """The client's window stays closed while its body is buffered, until the target leg takes it."""
        exchange = self.exchange
        if exchange.body is None or self.ended or self.active is None:
            self.resume_reading(CONNECTING)
        else:
            self.loop.call_later(CONNECT_POLL, self._wait_attached)

    def reset_by_client(self) -> None:
        self.ended = True
        self.active = None
        self.exchange.release()
        self.conn.stream_closed(self)

    # -- the exchange.Downstream interface (the chain, the forwarders, the target legs) -------------

    def respond(self, exchange: Exchange, response: LocalResponse) -> None:
        """An LB-made response, as HTTP/2."""
        if response.close:
            self.fail(response.status)
            return
        if not exchange.request_done:
            exchange.local, exchange.discard, exchange.body = response, True, None
            return
        self._local(response)
        self.finish(exchange)

    def forward(self, exchange: Exchange, head: UpstreamRequest) -> None:
        if head.http2:
            h2_upstream.forward(self.listener.h2_pool, self, exchange, head)
        else:
            http1_upstream.forward(self.listener.pool, self, exchange, head)

    def fail(self, status: int) -> None:
        exchange = self.exchange
        if self.ended:
            return
        if exchange.response_started:
            self._reset(h2.errors.ErrorCodes.INTERNAL_ERROR)
        else:
            if exchange.record is not None:
                exchange.record.elb_status_code = status
            self._local(lb_response(status))
        exchange.discard, exchange.body, exchange.local = True, None, None  # the rest of the body is dropped
        self.finish(exchange)

    def _local(self, response: LocalResponse) -> None:
        headers = h2_response_headers(self.listener.state.responses, response)
        body = b"" if self.exchange.head_only else response.body
        record = self.exchange.record
        if record is not None:
            record.sent_bytes += len(body)
        self._head(headers, end=not body)
        if body:
            self.send(body)
            self._end()

    def finish(self, exchange: Exchange) -> None:
        self.active = None
        exchange.release()

    def send(self, data: bytes | bytearray) -> None:
        if self.batch is not None:
            self.batch += data
        else:
            self.pending += data
            self.drain()

    def flush(self) -> None:
        batch, self.batch = self.batch, None
        if batch:
            self.pending += batch
            self.drain()

    def pause_reading(self, reason: int) -> None:
        self.held |= reason

    def resume_reading(self, reason: int) -> None:
        if self.held & reason:
            self.held &= ~reason
            if not self.held and self.unacked:
                self.conn.h2.acknowledge_received_data(self.unacked, self.id)
                self.unacked = 0
                self.conn.output_soon()

    # -- events from the target leg ----------------------------------------------------------------

    def upstream_head(self, status: int, reason: bytes, headers: Headers, end: bool = False) -> None:
        """The target's response head (HTTP/1.1 or HTTP/2), through the chain's response stages, as HTTP/2
        headers; ``end``: the head is the whole response (a gRPC trailers-only answer)."""
        exchange = self.exchange
        exchange.response_started = True
        record = exchange.record
        if record is not None:
            record.response_time = time()
            record.target_status_code = record.elb_status_code = status
        chain = self.listener.state.chain
        if chain.response_stages:
            headers = chain.on_response(exchange, headers)
        out = [(b":status", b"%d" % status)]
        has_length = chunked = False
        for name, value in headers:
            if name in H2_HOP or name[:1] == b":":
                chunked = chunked or name == b"transfer-encoding"
                continue
            if name == b"content-length":
                has_length = True
            out.append((name.lower(), value))
        upstream = exchange.upstream
        if not has_length and not chunked and upstream is not None and not (
            exchange.head_only or status in (204, 304)
        ):
            upstream.until_close = True  # an HTTP/1.1 target's body without length ends when it closes
        self._head(out, end)
        if end:
            exchange.upstream = None
            self.finish(exchange)

    def upstream_body(self, body: bytes) -> None:
        record = self.exchange.record
        if record is not None:
            record.sent_bytes += len(body)
        self.send(body)

    def upstream_trailers(self, trailers: Headers) -> None:
        self.trailers = trailers  # sent with END_STREAM by ``drain`` (gRPC: grpc-status, grpc-message)

    def upstream_done(self) -> None:
        exchange = self.exchange
        exchange.upstream = None
        self._end()
        if not exchange.request_done:  # answered before the body ended: the rest is dropped
            exchange.discard, exchange.body = True, None
        self.finish(exchange)

    def upstream_failed(self, upstream: Upstream, status: int) -> None:
        upstream.close()
        exchange = self.exchange
        if exchange.upstream is upstream:
            exchange.upstream = None
            self.fail(status)

    def upstream_upgraded(self, upstream: Upstream, rest: bytes) -> None:
        """A 101 cannot be relayed on HTTP/2: an invalid response (502)."""
        self.upstream_failed(upstream, 502)

    # -- frames --------------------------------------------------------------------------------------

    def _head(self, headers: Headers, end: bool = False) -> None:
        self.exchange.response_started = True
        try:
            self.conn.h2.send_headers(self.id, headers, end_stream=end)
        except h2.exceptions.StreamClosedError:
            end = True
        self.conn.output_soon()
        if end:
            self._closed()

    def _end(self) -> None:
        if self.batch:  # bytes gathered during this target read go before END_STREAM
            self.pending += self.batch
            self.batch = bytearray()
        self.end_pending = True
        self.drain()

    def drain(self) -> None:
        """Send what the windows allow; END_STREAM (with trailers) once everything is out."""
        if self.ended:
            return
        connection, pending = self.conn.h2, self.pending
        try:
            send_within_window(connection, self.id, pending)
            if not pending and self.end_pending:
                if self.trailers:
                    connection.send_headers(self.id, self.trailers, end_stream=True)
                else:
                    connection.end_stream(self.id)
                self.ended = True
        except h2.exceptions.StreamClosedError:
            self.ended = True
        self.conn.output_soon()
        self._pace_target(bool(pending) and not self.ended)
        if self.ended:
            self._closed()

    def _pace_target(self, full: bool) -> None:
        if full == self.write_paused:
            return
        self.write_paused = full
        upstream = self.exchange.upstream
        if upstream is not None:
            if full:
                upstream.pause_reading()
            else:
                upstream.resume_reading()

    def _reset(self, code: h2.errors.ErrorCodes) -> None:
        try:
            self.conn.h2.reset_stream(self.id, code)
        except h2.exceptions.StreamClosedError:
            pass
        self.conn.output_soon()
        self._closed()

    def _closed(self) -> None:
        self.ended = True
        self.pending.clear()
        self.conn.stream_closed(self)


def h2_response_headers(policy: ResponsePolicy, response: LocalResponse) -> Headers:
    """An LB-made response's HTTP/2 headers under the listener's response settings (cached when the
    response is)."""
    if response.cacheable:
        cached = policy.cache.get(response)
        if cached is not None:
            return cached
    headers = [(b":status", b"%d" % response.status)]
    headers += [(name.lower(), value) for name, value in policy.local_headers(response)]
    headers.append((b"content-length", b"%d" % len(response.body)))
    if response.cacheable:
        policy.cache[response] = headers
    return headers
