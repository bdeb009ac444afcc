"""Connections to targets: one HTTP/1.1 response parser each, pooled per (host, port, tls) for keep-alive reuse.

An upstream connection serves one client exchange at a time (its ``owner``, an ``exchange.Downstream``: an
HTTP/1.x client connection or an HTTP/2 stream) and
reports the response to it as it is parsed, so bodies stream through without being buffered. Backpressure:
when the target stops reading the request body, the client's reading pauses; when the client stops reading
the response, the target's reading pauses.

A connection goes back to the pool only when its exchange ended cleanly on both sides: the whole request was
written, the response was complete and well framed, the target allows keep-alive, and nothing followed the
response in the same read. Anything else could hand one client's response to the next.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from time import time
from typing import cast

import httptools

from emulator.dataplane.alb.exchange import UPSTREAM_FULL, Downstream, Exchange
from emulator.dataplane.alb.headers.trailers import last_chunk, relayable_fields
from emulator.dataplane.alb.heads import PoolKey, UpstreamRequest
from emulator.dataplane.tls.targets import TargetTls

CONNECT_TIMEOUT = 10.0  # AWS: a target that does not accept within 10 s -> 504
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


_DETACHED = httptools.HttpResponseParser(object())  # the parser of a closed connection (it is never fed)


class UpstreamConnection(asyncio.Protocol):
    __slots__ = (
        "key", "pool", "transport", "parser", "owner", "headers", "head_fields", "reason", "last_active", "closed",
        "tunnel", "skip_body", "until_close", "complete", "reusable", "leftover",
    )

    def __init__(self, key: PoolKey, pool: UpstreamPool) -> None:
        self.key = key
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.owner: Downstream | None = None
        self.headers: list[tuple[bytes, bytes]] = []  # the response head's fields, then its trailer fields
        self.head_fields = 0  # how many of ``headers`` are the head's
        self.reason = b""
        self.last_active = 0.0
        self.closed = False
        self.tunnel = False
        self.skip_body = False  # the request was HEAD: the response has a head only
        self.until_close = False  # the response has no length: it ends when the target closes
        self.complete = False  # the response ended during the current read (settled once the read is parsed)
        self.reusable = False  # ... and the target allows keep-alive
        self.leftover = False  # ... and more bytes followed it: the connection is not reused

    # -- the exchange.Upstream interface (used by the client legs) ---------------------------------

    def write(self, data: bytes | bytearray) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def send_body(self, exchange: Exchange, body: bytes) -> None:
        if self.transport is None:
            return
        if exchange.chunked:
            self.transport.writelines((b"%x\r\n" % len(body), body, b"\r\n"))
        else:
            self.transport.write(body)

    def end_body(self, exchange: Exchange) -> None:
        if exchange.chunked and self.transport is not None:
            trailers = exchange.trailers  # (a Content-Length framed body cannot carry them: they are dropped)
            self.transport.write(last_chunk(trailers) if trailers else b"0\r\n\r\n")

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    # -- transport events ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's transports do not subclass it)

    def data_received(self, data: bytes) -> None:
        owner = self.owner
        if owner is None:
            self.close()  # unsolicited bytes on an idle connection
            return
        owner.upstream_active = self.pool.loop.time()
        if self.tunnel:
            exchange = owner.active
            if exchange is not None and exchange.record is not None:  # a WebSocket's bytes to the client
                exchange.record.sent_bytes += len(data)
            owner.send(data)
            return
        owner.batch = bytearray()  # one write to the client per read from the target
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            if self.owner is not None:  # (a 101 to a request that did not ask for it was refused: see below)
                self.tunnel = True
                owner.upstream_upgraded(self, data[upgrade.args[0]:])
        except httptools.HttpParserError:
            if self.complete:
                self.leftover = True  # bytes after the response that are not even HTTP
            else:
                owner.upstream_failed(self, 502)  # malformed response (AWS: 502)
        finally:
            if self.complete:
                self._settle()
            if not owner.closing:
                owner.flush()
            owner.batch = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.parser = _DETACHED  # its callbacks are ours: a cycle, freed now without the cyclic GC
        self.pool.forget(self)
        owner, self.owner = self.owner, None
        if owner is not None and self.until_close:
            owner.upstream_done()
        elif owner is not None:
            owner.upstream_failed(self, 502)

    def pause_writing(self) -> None:
        if self.owner is not None:
            self.owner.pause_reading(UPSTREAM_FULL)

    def resume_writing(self) -> None:
        if self.owner is not None:
            self.owner.resume_reading(UPSTREAM_FULL)

    # -- parser callbacks ------------------------------------------------------------------------
    # Once the response is complete, any further callback in the same read is a leftover.

    def on_message_begin(self) -> None:
        if self.complete:
            self.leftover = True
        self.headers = []

    def on_status(self, reason: bytes) -> None:
        self.reason = reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status, owner = self.parser.get_status_code(), self.owner
        if self.complete or owner is None or (status < 200 and status != 101):
            return  # a leftover, or an interim response (e.g. 100 Continue) the client does not need
        if status == 101 and (owner.active is None or owner.active.upgrade is None):
            owner.upstream_failed(self, 502)  # switching protocols that the client did not ask for
            return
        self.head_fields = len(self.headers)
        owner.upstream_head(status, self.reason, self.headers)
        if self.skip_body and self.owner is not None:  # HEAD: llhttp cannot be told that no body follows
            self._complete(self.parser.should_keep_alive())
            self.parser = httptools.HttpResponseParser(self)  # the old one reads on: see ``on_body``

    def on_body(self, body: bytes) -> None:
        if self.complete:
            self.leftover = True
        elif self.owner is not None:
            self.owner.upstream_body(body)

    def on_message_complete(self) -> None:
        if self.complete or self.parser.get_status_code() < 200 or self.owner is None or self.tunnel:
            return
        if len(self.headers) > self.head_fields:  # a chunked body ended with a trailer section
            trailers = relayable_fields(self.headers[self.head_fields:])
            if trailers:
                self.owner.upstream_trailers(trailers)
        self._complete(self.parser.should_keep_alive())

    def _complete(self, keep_alive: bool) -> None:
        self.complete, self.reusable, self.skip_body = True, keep_alive, False

    def _settle(self) -> None:
        """The response ended in the read just parsed: pool the connection or close it, then tell the owner."""
        owner, self.owner = self.owner, None
        if owner is None:
            return
        exchange = owner.active
        clean = exchange is not None and exchange.request_done and not exchange.ambiguous
        if self.reusable and clean and not self.leftover:
            self.complete = False
            self.pool.release(self)
        else:
            self.close()
        owner.resume_reading(UPSTREAM_FULL)  # the exchange is over: its backpressure too
        owner.upstream_done()

    def close(self) -> None:
        self.owner = None
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True


class UpstreamPool:
    """A listener's idle keep-alive connections to targets, most recently used first; idle ones expire on
    ``sweep``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, target_tls: TargetTls) -> None:
        self.loop = loop
        self.target_tls = target_tls  # HTTPS targets are reached under the listener's back-end policy
        self.idle: defaultdict[PoolKey, list[UpstreamConnection]] = defaultdict(list)

    def use_tls(self, target_tls: TargetTls) -> None:
        """The listener's back-end policy changed: idle TLS connections, made under the old one, are closed."""
        if target_tls is self.target_tls:
            return
        self.target_tls = target_tls
        for key in [key for key in self.idle if key[2]]:
            for conn in self.idle.pop(key):
                conn.close()

    def acquire(self, key: PoolKey) -> UpstreamConnection | None:
        idle = self.idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    async def connect(self, key: PoolKey) -> UpstreamConnection:
        host, port, tls = key
        _, conn = await asyncio.wait_for(
            self.loop.create_connection(lambda: UpstreamConnection(key, self), host, port, ssl=self.target_tls.context if tls else None),
            CONNECT_TIMEOUT,
        )
        return conn

    def release(self, conn: UpstreamConnection) -> None:
        conn.last_active = self.loop.time()
        transport = conn.transport
        if transport is not None and not transport.is_reading():  # paused for a slow client: not any more
            transport.resume_reading()
        self.idle[conn.key].append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        idle = self.idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    def sweep(self, now: float, idle_timeout: float) -> None:
        """Close connections idle longer than the LB's idle timeout (it applies to target connections too)."""
        for key, idle in list(self.idle.items()):
            keep = [c for c in idle if not c.closed and now - c.last_active < idle_timeout]
            for conn in idle:
                if conn not in keep:
                    conn.close()
            if keep:
                self.idle[key] = keep
            else:
                del self.idle[key]

    def close(self) -> None:
        for idle in self.idle.values():
            for conn in idle:
                conn.close()
        self.idle.clear()


# -- the forwarder: an exchange's request onto a pooled (or new) HTTP/1.1 target connection --------------------


def forward(pool: UpstreamPool, leg: Downstream, exchange: Exchange, head: UpstreamRequest) -> None:
    leg.upstream_active = leg.loop.time()
    upstream = pool.acquire(head.key)
    if upstream is not None:
        attach(leg, exchange, upstream, head)
    else:
        leg.loop.create_task(connect(pool, leg, exchange, head))


async def connect(pool: UpstreamPool, leg: Downstream, exchange: Exchange, head: UpstreamRequest) -> None:
    try:
        upstream = await pool.connect(head.key)
    except TimeoutError:
        status = 504  # AWS: connection to the target not established within 10 s
    except OSError:
        status = 502  # refused or reset
    else:
        if leg.closing or leg.active is not exchange:
            pool.release(upstream)
        else:
            attach(leg, exchange, upstream, head)
        return
    if exchange.record is not None:  # (TargetConnectionErrorCount)
        exchange.record.target_connection_failed = True
    if leg.active is exchange and not leg.closing:
        exchange.keep_alive = False
        leg.fail(status)


def attach(leg: Downstream, exchange: Exchange, upstream: UpstreamConnection, head: UpstreamRequest) -> None:
    """Hand the exchange to ``upstream``: this leg serialises the head (with its own framing) and writes it
    with the body received so far, in one write."""
    upstream.owner = leg
    upstream.skip_body = exchange.head_only
    if exchange.record is not None:
        exchange.record.forwarded_time = time()
    if leg.write_paused:
        upstream.pause_reading()
    exchange.upstream = upstream
    if exchange.expect and not exchange.request_done:
        leg.send(CONTINUE)  # the target is ready for the body (the LB answers 100-continue)
    out = bytearray(b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (head.method, head.target, head.host))
    if head.headers:
        out += b"\r\n".join(map(b": ".join, head.headers))  # (each header is a (name, value) pair)
        out += b"\r\n"
    if head.forwarded_for is not None:
        out += b"x-forwarded-for: %s\r\nx-forwarded-proto: %s\r\nx-forwarded-port: %s\r\nx-amzn-trace-id: %s\r\n" % (
            head.forwarded_for, head.forwarded_proto, head.forwarded_port, head.trace_id)
    else:
        out += b"x-forwarded-proto: %s\r\nx-forwarded-port: %s\r\nx-amzn-trace-id: %s\r\n" % (
            head.forwarded_proto, head.forwarded_port, head.trace_id)
    for name, value in head.added:
        out += b"%s: %s\r\n" % (name, value)
    if head.chunked:
        out += b"transfer-encoding: chunked\r\n"
    elif head.length is not None:
        out += b"content-length: %s\r\n" % head.length
    if head.upgrade is not None:
        out += b"connection: upgrade\r\nupgrade: %s\r\n\r\n" % head.upgrade
    else:
        out += b"connection: close\r\n\r\n" if head.close else b"connection: keep-alive\r\n\r\n"
    pending, exchange.body = exchange.body, None
    if pending:
        if exchange.chunked and exchange.upgrade is None:
            for chunk in pending:
                out += b"%x\r\n" % len(chunk)
                out += chunk
                out += b"\r\n"
        else:
            for chunk in pending:
                out += chunk
    if exchange.request_done and exchange.chunked:
        out += last_chunk(exchange.trailers) if exchange.trailers else b"0\r\n\r\n"
    if upstream.transport is not None:
        upstream.transport.write(out)
