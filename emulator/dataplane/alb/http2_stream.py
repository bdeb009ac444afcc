"""One HTTP/2 stream of a client connection (``http2``): a request/response exchange that offers ``forwarding``
and the target legs the same interface as an HTTP/1.1 ``ClientConnection``, in HTTP/2 frames.

Response bytes wait in ``pending`` for the client's flow-control window; while they wait, the target leg's
reading is paused. Request DATA is acknowledged as it is handed on, unless the target leg is full
(``pause_reading``), in which case the acknowledgement waits and the client's window closes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import h2.errors
import h2.exceptions

from emulator.dataplane.alb import forwarding, h2_upstream
from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.h2_flow import send_within_window
from emulator.dataplane.alb.responses import lb_response

if TYPE_CHECKING:
    from emulator.dataplane.alb.http2 import H2ClientConnection
    from emulator.dataplane.alb.upstream import PoolKey, UpstreamConnection

# Connection-specific fields HTTP/2 forbids (RFC 9113 8.2.2): never relayed from an HTTP/1.1 target.
CONNECTING = 8  # a ``held`` bit (beside exchange.UPSTREAM_FULL): the body waits for the target connection
CONNECT_POLL = 0.005  # how often a body waiting for its target connection checks that it is attached
H2_HOP = frozenset((b"connection", b"keep-alive", b"transfer-encoding", b"proxy-connection", b"upgrade", b"te"))
Headers = list[tuple[bytes, bytes]]


class Stream:
    __slots__ = (
        "conn", "id", "listener", "loop", "exchange", "active", "batch", "pending", "trailers", "end_pending",
        "ended", "held", "unacked", "upstream_active", "write_paused", "tls_headers", "created", "head",
    )

    def __init__(self, conn: H2ClientConnection, stream_id: int, exchange: Exchange) -> None:
        self.conn = conn
        self.id = stream_id
        self.listener = conn.listener
        self.loop = conn.loop
        self.exchange = exchange
        self.active: Exchange | None = exchange  # None once answered (``forwarding`` checks it)
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
        self.head: bytearray | None = None  # collects the HTTP/1.1 response head ``forwarding`` builds

    @property
    def closing(self) -> bool:
        return self.ended or self.conn.closing

    # -- the request (called by H2ClientConnection) ------------------------------------------------

    def request_body(self, data: bytes, flow_length: int) -> None:
        exchange = self.exchange
        if not exchange.discard:
            upstream = exchange.upstream
            if upstream is not None and exchange.body is None:
                forwarding.send_body(exchange, upstream, data)
            elif exchange.body is not None:
                exchange.body.append(data)  # sent when the target connection is ready (forwarding._attach)
                if not self.held & CONNECTING:
                    self.pause_reading(CONNECTING)
                    self.loop.call_later(CONNECT_POLL, self._wait_attached)
        if self.held:
            self.unacked += flow_length
        else:
            self.conn.h2.acknowledge_received_data(flow_length, self.id)

    def request_end(self) -> None:
        exchange = self.exchange
        if exchange.request_done:
            return
        exchange.request_done = True
        upstream = exchange.upstream
        if exchange.local is not None:
            self.respond(exchange, exchange.local)
        elif isinstance(upstream, h2_upstream.H2UpstreamStream):
            upstream.end_request()
        elif upstream is not None and exchange.body is None and exchange.chunked:
            upstream.transport.write(b"0\r\n\r\n")  # type: ignore[union-attr]

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
        forwarding.abandon(self.exchange)
        self.conn.stream_closed(self)

    # -- the ClientConnection interface (forwarding, upstream) ---------------------------------------

    def respond(self, exchange: Exchange, response: bytes) -> None:
        """An LB-made response (HTTP/1.1 bytes from ``responses``/``actions``), as HTTP/2."""
        if not exchange.request_done:
            exchange.local, exchange.discard, exchange.body = response, True, None
            return
        self._local(response)
        self.finish(exchange)

    def fail(self, status: int) -> None:
        exchange = self.exchange
        if self.ended:
            return
        if exchange.response_started:
            self._reset(h2.errors.ErrorCodes.INTERNAL_ERROR)
        else:
            self._local(lb_response(status, True))
        exchange.discard, exchange.body, exchange.local = True, None, None  # the rest of the body is dropped
        self.finish(exchange)

    def _local(self, response: bytes) -> None:
        headers, body = lb_h2_response(self.listener.state.responses.rewrite(response))
        if self.exchange.head_only:
            body = b""
        self._head(headers, end=not body)
        if body:
            self.send(body)
            self._end()

    def finish(self, exchange: Exchange) -> None:
        self.active = None
        forwarding.abandon(exchange)

    def send(self, data: bytes) -> None:
        if self.head is not None:
            self.head += data
        elif self.batch is not None:
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

    def forward_h2(self, exchange: Exchange, key: PoolKey, head: bytearray) -> None:
        h2_upstream.forward(self, exchange, key, head)

    # -- events from the target leg ----------------------------------------------------------------

    def upstream_head(self, status: int, reason: bytes, headers: Headers, keep_alive: bool, end: bool = False) -> None:
        """The target's response head, with the LB's cookies and injected headers exactly as HTTP/1.1 clients
        get them (``forwarding.response_head`` writes it into ``head``), as HTTP/2 headers; ``end``: the head
        is the whole response (a gRPC trailers-only answer)."""
        exchange = self.exchange
        self.head = bytearray()
        forwarding.response_head(self, exchange, status, reason, headers)  # type: ignore[arg-type]
        head, self.head = self.head, None
        self._head(h2_response(bytes(head))[0], end)
        if end:
            exchange.upstream = None
            self.finish(exchange)

    def upstream_body(self, body: bytes) -> None:
        self.send(body)

    def upstream_trailers(self, trailers: Headers) -> None:
        self.trailers = [(n, v) for n, v in trailers if n[:1] != b":"]  # gRPC: grpc-status, grpc-message

    def upstream_done(self) -> None:
        exchange = self.exchange
        exchange.upstream = None
        self._end()
        if not exchange.request_done:  # answered before the body ended: the rest is dropped
            exchange.discard, exchange.body = True, None
        self.finish(exchange)

    def upstream_failed(self, upstream: UpstreamConnection | h2_upstream.H2UpstreamStream, status: int) -> None:
        upstream.close()
        exchange = self.exchange
        if exchange.upstream is upstream:
            exchange.upstream = None
            self.fail(status)

    def upstream_upgraded(self, upstream: UpstreamConnection, rest: bytes) -> None:
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
        if upstream is not None and upstream.transport is not None:
            if full:
                upstream.transport.pause_reading()
            else:
                upstream.transport.resume_reading()

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


@lru_cache(maxsize=256)
def lb_h2_response(response: bytes) -> tuple[Headers, bytes]:
    """An LB-made response (a few distinct prebuilt byte strings) as HTTP/2 headers and body."""
    return h2_response(response)


def h2_response(response: bytes) -> tuple[Headers, bytes]:
    """An HTTP/1.1 response (or just its head) as HTTP/2 headers and body."""
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, _, lines = head.partition(b"\r\n")
    headers = [(b":status", status_line.split(b" ", 2)[1])]
    headers += [(n, v) for n, v in header_lines(lines) if n not in H2_HOP]
    return headers, body


def header_lines(lines: bytes) -> Headers:
    """CRLF-separated ``Name: value`` lines as lower-case (name, value) pairs."""
    pairs = []
    for line in lines.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name:
            pairs.append((name.lower(), value.strip()))
    return pairs
