"""The client side of an ALB listener: HTTP/1.x parsing (httptools), routing, and relaying to targets.

Requests are answered in order: a pipelined request that arrives while another is in flight waits in
``queue`` (client reading pauses meanwhile, so the wait is bounded). Request bodies stream to the target as
they arrive; responses stream back the same way.

Every byte a target receives belongs to a request that went through the listener's rules. Two places where
llhttp stops framing the stream are handled by restarting the parser at the exact byte where the request ended:
- an upgrade request (WebSocket): the bytes after it are held until the target answers; after a 101 they are
  relayed as the tunnel's first bytes, otherwise they are parsed as this client's next request;
- ``Transfer-Encoding: identity`` (one of the two codings ALB supports, "HTTP 501" in "Troubleshoot your
  Application Load Balancers"): identity is no coding at all, so Content-Length (or nothing) frames the body,
  while llhttp would read the rest of the connection as body.

The trailer fields after a chunked body arrive through ``on_header`` too: they are kept apart from the head
(``_past_head``) and relayed by the target leg (``headers.trailers``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from time import time
from typing import cast

import httptools

import emulator.dataplane.alb.upstream.http1 as http1_upstream
from emulator.dataplane.alb.client_records import Observed
from emulator.dataplane.alb.exchange import PIPELINE, UPGRADING, Exchange, Upstream
from emulator.dataplane.alb.headers.trailers import last_chunk
from emulator.dataplane.alb.heads import Headers, UpstreamRequest
from emulator.dataplane.alb.http1.framing import http1_response, response_head
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.responses import LocalResponse, lb_response
from emulator.dataplane.alb.state import Listener

MAX_URL = 16 * 1024  # AWS: request line over 16 KB -> 414
MAX_HEADER = 16 * 1024  # any single header over 16 KB -> 400
MAX_HEADERS = 64 * 1024  # all headers over 64 KB -> 400
_TRAILING = 1 << 32  # ``header_bytes`` once the head is complete: see ``_past_head``
_TE_OK = frozenset((b"chunked", b"identity"))
_FRAMING = frozenset((b"transfer-encoding", b"expect", b"upgrade"))  # headers that change how the client leg reads


class LbError(Exception):
    """The request cannot be served: answer ``status`` (an LB response) and close."""

    def __init__(self, status: int) -> None:
        self.status = status


class _Closed(Exception):
    """Raised from a parser callback once the connection is closing."""


class _Restart(Exception):
    """Raised from a parser callback: the request ended inside ``rest``, which a fresh parser reads next."""

    def __init__(self, rest: bytes) -> None:
        self.rest = rest


def _request_parser(protocol: object) -> httptools.HttpRequestParser:
    parser = httptools.HttpRequestParser(protocol)
    # Content-Length + Transfer-Encoding is let through to be classified by desync mitigation (desync.py).
    parser.set_dangerous_leniencies(lenient_chunked_length=True)
    return parser


_DETACHED = httptools.HttpRequestParser(object())  # the parser of a closed connection (it is never fed)


class ClientConnection(asyncio.Protocol):
    """An ``exchange.Downstream``: the HTTP/1.x client leg, which serialises its own responses."""

    transport: asyncio.Transport  # set by connection_made, before anything else happens

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.loop = listener.loop
        self.parser = _request_parser(self)
        self.peer, self.peer_port = "", 0
        self.parsing: Exchange | None = None  # the request the parser is filling in
        self.active: Exchange | None = None  # the request being answered
        self.queue: deque[Exchange] = deque()
        self.header_bytes = 0
        self.headers: Headers = []  # the headers of the request being parsed
        self.host = ""  # and its first Host header
        self.paused = 0
        self.write_paused = False  # the client's socket buffer is full: the target's reading must wait
        self.batch: bytearray | None = None  # output gathered during one upstream read (see ``send``)
        self.tunnel: Upstream | None = None
        self.upgrading: Exchange | None = None  # an upgrade request whose target has not answered yet
        self.held: bytearray | None = None  # client bytes after that request, until the target answers
        self.identity_left: int | None = None  # body bytes still due of a Transfer-Encoding: identity request
        self.head_started = 0.0  # when the request head being parsed began (the header-read deadline)
        self.created = self.last_active = self.upstream_active = self.loop.time()
        self.closing = False
        self.tls_headers: Headers = []  # mTLS / TLS-info headers for every request (client_tls)
        self.observed: Observed | None = None  # its connection record and TLS session (observed listeners)

    # -- transport events ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's transports do not subclass it)
        self.listener.admit(self, transport)  # (a refused connection is aborted: nothing more arrives)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.listener.clients.discard(self)
        if self.observed is not None:
            self.observed.closed()
        for exchange in (self.active, *self.queue):
            if exchange is not None:
                exchange.release()  # AWS logs 460: the client closed first
        parsing = self.parsing
        if parsing is not None and parsing.record is not None:
            parsing.release()  # a head that never completed (answered 400/408, or abandoned): reported too
        if self.tunnel is not None:
            self.tunnel.close()
        self.active = None
        self.queue.clear()
        self.parser = _DETACHED  # the parser's callbacks are this connection's: a cycle, freed now without the GC

    def data_received(self, data: bytes) -> None:
        self.last_active = self.loop.time()
        if self.tunnel is not None:
            if self.active is not None and self.active.record is not None:  # a WebSocket's bytes, both ways
                self.active.record.received_bytes += len(data)
            self.tunnel.write(data)
        elif self.held is not None:  # reading is paused, but this read was already on its way
            self.held += data
        else:
            self._feed(data)

    def _feed(self, data: bytes) -> None:
        while True:
            try:
                self.parser.feed_data(data)
                return
            except httptools.HttpParserUpgrade as upgrade:
                data = data[upgrade.args[0]:]
                if self.upgrading is not None:  # nothing more is read until the target has answered
                    self.held = bytearray(data)
                    self.pause_reading(UPGRADING)
                    return
            except httptools.HttpParserCallbackError as error:
                if self.closing:  # a stage answered and closed the connection (desync mitigation)
                    return
                cause = error.__context__
                if not isinstance(cause, _Restart):
                    self.fail(cause.status if isinstance(cause, LbError) else 400)
                    return
                data = cause.rest
            except LbError as error:
                self.fail(error.status)
                return
            except httptools.HttpParserError as error:
                self.fail(_parse_error_status(error))
                return
            if self.closing:
                return
            self.parser, self.identity_left = _request_parser(self), None
            if not data:
                return

    def pause_writing(self) -> None:  # the client reads slower than the target sends
        self.write_paused = True
        upstream = self._reading_upstream()
        if upstream is not None:
            upstream.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        upstream = self._reading_upstream()
        if upstream is not None:
            upstream.resume_reading()

    def _reading_upstream(self) -> Upstream | None:
        upstream = self.tunnel or (self.active.upstream if self.active else None)
        return upstream if upstream is not None and not upstream.closed else None

    def pause_reading(self, reason: int) -> None:
        if not self.paused and not self.closing:
            self.transport.pause_reading()
        self.paused |= reason

    def resume_reading(self, reason: int) -> None:
        if self.paused & reason:
            self.paused &= ~reason
            if not self.paused and not self.closing:
                self.transport.resume_reading()

    # -- parser callbacks ------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        request = Request(self.peer, self.peer_port)
        self.parsing = exchange = Exchange(request, self)
        recording = self.listener.state.recording
        if recording is not None:
            exchange.record, exchange.recording = recording.begin(request, self.observed), recording
        self.headers, self.host = request.headers, ""  # (on_header fills them in)
        self.header_bytes = 0
        self.head_started = self.loop.time()

    def on_url(self, url: bytes) -> None:
        exchange = self.parsing
        assert exchange is not None  # llhttp calls on_message_begin first
        request = exchange.request
        request.url += url
        if len(request.url) > MAX_URL:
            raise LbError(414)

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        self.header_bytes += size
        if size > MAX_HEADER or self.header_bytes > MAX_HEADERS:
            self._past_head(name, value, size)
            return
        name = name.lower()
        self.headers.append((name, value))
        if name == b"host":
            if not self.host:
                self.host = value.decode("latin-1")
        elif name in _FRAMING:  # (most headers are only passed on)
            self._framing_header(name, value)

    def _past_head(self, name: bytes, value: bytes, size: int) -> None:
        """A field past the header limits: a head too large (400), or a trailer field after a chunked body.
        (``on_headers_complete`` sets ``header_bytes`` to ``_TRAILING``, past MAX_HEADERS, so that trailer
        fields come here without a test of their own on every header; they have the head's limits.)"""
        trailer_bytes = self.header_bytes - _TRAILING
        if trailer_bytes < 0 or size > MAX_HEADER or trailer_bytes > MAX_HEADERS:
            raise LbError(400)
        exchange = self.parsing
        if exchange is None:
            return
        if exchange.record is not None:
            exchange.record.received_bytes += size + 4  # (its line: name, ": ", value, CRLF)
        name = name.lower()
        if name == b"connection" and b"close" in value.lower():
            exchange.keep_alive = False  # llhttp honours it: it parses nothing after this request
        elif self.listener.state.policy.passes_trailer(name):
            if exchange.trailers is None:
                exchange.trailers = [(name, value)]
            else:
                exchange.trailers.append((name, value))

    def _framing_header(self, name: bytes, value: bytes) -> None:
        exchange = self.parsing
        assert exchange is not None  # llhttp calls on_message_begin first
        if name == b"transfer-encoding":
            codings = [coding.strip().lower() for coding in value.split(b",")]
            if not _TE_OK.issuperset(codings):
                raise LbError(501)  # AWS: unsupported Transfer-Encoding -> 501
            # llhttp refuses "chunked" anywhere but last, so the last coding decides the framing.
            exchange.chunked = codings[-1] == b"chunked"
            exchange.identity = not exchange.chunked
        elif name == b"expect":
            if value.lower() == b"100-continue":
                exchange.expect = True
        else:  # upgrade
            exchange.upgrade = value

    def on_headers_complete(self) -> None:
        exchange = self.parsing
        assert exchange is not None
        parser = self.parser
        version = parser.get_http_version()
        if version not in ("1.1", "1.0"):
            raise LbError(505)
        request = exchange.request
        request.method = parser.get_method().decode("latin-1")
        exchange.http10 = version == "1.0"
        exchange.keep_alive = parser.should_keep_alive() and not self.closing
        exchange.head_only = request.method == "HEAD"
        request.host = self.host
        if not request.host and request.url[:4].lower() == b"http":  # absolute-form: the authority is the Host
            request.host = request.url.decode("latin-1").split("/")[2]
        if exchange.upgrade is not None and not parser.should_upgrade():
            exchange.upgrade = None
        elif exchange.upgrade is not None:
            self.upgrading = exchange
        if exchange.identity:
            self.identity_left = _content_length(request)
        record = exchange.record
        if record is not None:  # the head's size: request line, header lines, the blank line
            record.received_bytes = (len(request.method) + len(request.url) + 12 + self.header_bytes
                                     + 4 * len(self.headers) + 2)
        self.header_bytes = _TRAILING  # what on_header receives from now on is a trailer field
        if self.active is None:
            self.active = exchange
            self.listener.state.chain.run(exchange)
            if self.closing:
                raise _Closed  # (stops the parser: nothing after this request is read)
        else:
            self.queue.append(exchange)
            self.pause_reading(PIPELINE)
        if self.identity_left == 0:
            self.on_message_complete()

    def on_body(self, body: bytes) -> None:
        left = self.identity_left
        if left is None:
            self._body(body)
            return
        # Transfer-Encoding: identity: llhttp hands over the rest of the connection; the length cuts it.
        own, rest = body[:left], body[left:]
        self.identity_left = left - len(own)
        if own:
            self._body(own)
        if self.identity_left == 0 and self.parsing is not None:
            self.on_message_complete()
        if rest:
            raise _Restart(rest)

    def _body(self, body: bytes) -> None:
        exchange = self.parsing
        if exchange is None:
            return
        if exchange.record is not None:
            exchange.record.received_bytes += len(body)
        if exchange.discard:
            return
        upstream = exchange.upstream
        if exchange.body is None:
            if upstream is not None:
                upstream.send_body(exchange, body)
        else:
            exchange.body.append(body)
            if exchange.body_waiter is not None:
                exchange.body_arrived()

    def on_message_complete(self) -> None:
        exchange, self.parsing = self.parsing, None
        if exchange is None:
            return
        exchange.request_done = True
        if exchange.body_waiter is not None:
            exchange.body_arrived()
        if exchange.local is not None and exchange is self.active:
            self.respond(exchange, exchange.local)
        elif exchange.upstream is not None and exchange.body is None and exchange.chunked:
            exchange.upstream.end_body(exchange)  # (on HTTP/1 only a chunked body has an end of its own)

    # -- answering -------------------------------------------------------------------------------

    def respond(self, exchange: Exchange, response: LocalResponse) -> None:
        """Send an LB-made response once the request has been read in full, then move on."""
        if response.close:
            exchange.keep_alive = False
            self.fail(response.status)
            return
        if not exchange.request_done:
            exchange.local, exchange.discard, exchange.body = response, True, None  # sent by on_message_complete
            return
        state = self.listener.state
        if exchange.keep_alive and state.past_lifetime(self.created, self.loop.time()):
            exchange.keep_alive = False  # client_keep_alive.seconds reached: this response is the last
        out = http1_response(state.responses, response, exchange.keep_alive)
        record = exchange.record
        if record is not None:
            record.elb_status_code, record.sent_bytes = response.status, len(out)
        self.send(out)
        self.finish(exchange)

    def forward(self, exchange: Exchange, head: UpstreamRequest) -> None:
        # (head.http2 cannot be: HTTP/1.x requests to HTTP2/GRPC groups were answered 464)
        self.upstream_active = self.loop.time()
        pool = self.listener.pool
        upstream = pool.acquire(head.key)
        if upstream is not None:
            http1_upstream.attach(self, exchange, upstream, head)
        else:
            self.loop.create_task(http1_upstream.connect(pool, self, exchange, head))

    def fail(self, status: int) -> None:
        """Answer a request that cannot be parsed or served, and close the connection."""
        if not self.closing:
            out = http1_response(self.listener.state.responses, lb_response(status), False)
            exchange = self.active or self.parsing
            if exchange is not None and exchange.record is not None and not exchange.response_started:
                exchange.record.elb_status_code, exchange.record.sent_bytes = status, len(out)
            self.send(out)
        self.close()

    def finish(self, exchange: Exchange) -> None:
        """The response to ``exchange`` is complete: start the next pipelined request or close. (Its head
        said which: ``keep_alive`` is false once the connection is past ``client_keep_alive.seconds``.)"""
        exchange.release()
        self.active = None
        held = None
        if exchange is self.upgrading:  # the target declined the upgrade (or the LB answered it)
            self.upgrading, held, self.held = None, self.held, None
        if self.closing:
            return
        if not exchange.keep_alive:
            self.close()
            return
        self.last_active = self.loop.time()
        while self.queue and self.active is None and not self.closing:
            self.active = self.queue.popleft()
            self.listener.state.chain.run(self.active)
        if not self.queue and self.paused & PIPELINE:
            self.resume_reading(PIPELINE)
        if held is not None:  # the parser stopped at the upgrade request: what followed is the next request
            self.parser = _request_parser(self)
            self.resume_reading(UPGRADING)
            self._feed(bytes(held))

    def send(self, data: bytes | bytearray) -> None:
        """Write to the client; while a target's bytes are being relayed, gather them into one write."""
        if self.batch is not None:
            self.batch += data
        else:
            self.transport.write(data)

    def flush(self) -> None:
        batch, self.batch = self.batch, None
        if batch:
            self.transport.write(batch)

    def close(self) -> None:
        self.flush()
        self.closing = True
        self.transport.close()

    # -- upstream events (called by UpstreamConnection) -----------------------------------------------

    def upstream_head(self, status: int, reason: bytes, headers: Headers, end: bool = False) -> None:
        """The target's response head: through the chain's response stages, then framed for this client."""
        exchange = self.active
        if exchange is None:
            return
        exchange.response_started = True
        state = self.listener.state
        if state.chain.response_stages:
            headers = state.chain.on_response(exchange, headers)
        last = exchange.keep_alive and state.past_lifetime(self.created, self.loop.time())
        head = response_head(exchange, status, reason, headers, not last)
        record = exchange.record
        if record is not None:
            record.response_time = time()
            record.target_status_code = record.elb_status_code = status
            record.sent_bytes = len(head)
        self.send(head)

    def upstream_trailers(self, trailers: Headers) -> None:
        """The target's trailer fields go in the last chunk; a body framed otherwise cannot carry them."""
        exchange = self.active
        if exchange is not None and exchange.response_chunked:
            self.send(last_chunk(trailers))
            exchange.response_chunked = False  # the last chunk is out: ``upstream_done`` adds none

    def upstream_body(self, body: bytes) -> None:
        exchange = self.active
        if exchange is None:
            return
        if exchange.record is not None:
            exchange.record.sent_bytes += len(body)
        if exchange.response_chunked:
            self.send(b"%x\r\n" % len(body))
            self.send(body)
            self.send(b"\r\n")
        else:
            self.send(body)

    def upstream_done(self) -> None:
        exchange = self.active
        if exchange is None:
            return
        if exchange.response_chunked:
            self.send(b"0\r\n\r\n")
        exchange.upstream = None
        if not exchange.request_done:
            exchange.keep_alive = False  # answered before the body ended: the rest cannot be framed
        self.finish(exchange)

    def upstream_failed(self, upstream: Upstream, status: int) -> None:
        exchange = self.active
        upstream.close()
        if self.tunnel is upstream:
            self.close()
        elif exchange is not None and exchange.upstream is upstream:
            exchange.upstream = None
            if exchange.response_started:
                self.close()  # mid-response: nothing sensible can follow
            else:
                exchange.keep_alive = False
                self.fail(status)

    def upstream_upgraded(self, upstream: Upstream, rest: bytes) -> None:
        """The target answered 101: from now on bytes flow both ways untouched (WebSocket)."""
        exchange = self.active
        if exchange is None or exchange.upstream is not upstream:
            return
        self.tunnel, self.upgrading = upstream, None
        if rest:
            self.send(rest)
        held, self.held = self.held, None
        if held:
            upstream.write(held)
        self.resume_reading(UPGRADING)

    # -- timers ----------------------------------------------------------------------------------

    def tick(self, now: float, idle_timeout: float) -> None:
        """Called periodically by the listener: enforce the idle timeout on both legs (AWS 408 / 504)."""
        exchange = self.active
        if self.tunnel is not None:
            if now - max(self.last_active, self.upstream_active) > idle_timeout:
                self.close()
        elif exchange is not None and exchange.upstream is not None:
            if now - max(self.upstream_active, self.last_active) > idle_timeout and not exchange.response_started:
                upstream, exchange.upstream = exchange.upstream, None
                upstream.close()
                exchange.keep_alive = False
                self.fail(504)
        elif exchange is None and self.parsing is not None:
            # The header-read deadline: a head trickled in a byte at a time (Slowloris) must still be complete
            # within the idle timeout of its first byte. ALB: "HTTP 408: Client did not send data before the
            # idle timeout period expired" (Troubleshoot your Application Load Balancers).
            if now - self.head_started > idle_timeout:
                self.fail(408)
        elif exchange is None and now - self.last_active > idle_timeout:
            self.close()


def _content_length(request: Request) -> int:
    """The request's Content-Length (llhttp has checked that it is one number), 0 without one."""
    for name, value in request.headers:
        if name == b"content-length":
            return int(value)
    return 0


def _parse_error_status(error: Exception) -> int:
    text = str(error).lower()
    if "version" in text:
        return 505
    if "transfer-encoding" in text:
        return 501
    return 400

