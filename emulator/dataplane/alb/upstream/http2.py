"""HTTP/2 to the targets of HTTP2 and GRPC target groups ("Target group protocol version" in "Target groups
for your Application Load Balancers"): TLS with ALPN ``h2`` for HTTPS groups (unverified, as ALB does), prior-knowledge h2c for HTTP groups. One connection per target carries
concurrent streams (another opens when the target's SETTINGS_MAX_CONCURRENT_STREAMS is reached).

gRPC needs nothing special beyond HTTP/2: trailers (grpc-status, grpc-message) are relayed to the client
leg (a trailing HEADERS frame on HTTP/2), and a trailers-only answer (a HEADERS frame that ends the stream)
stays one. A client's request trailers end the request stream the same way (``headers.trailers``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from time import time
from typing import cast

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from emulator.dataplane.alb.exchange import UPSTREAM_FULL, Downstream, Exchange
from emulator.dataplane.alb.flow_control import send_within_window
from emulator.dataplane.alb.headers.trailers import relayable_fields
from emulator.dataplane.alb.heads import Headers, PoolKey, UpstreamRequest
from emulator.dataplane.alb.upstream.http1 import CONNECT_TIMEOUT
from emulator.dataplane.tls.targets import TargetTls

WINDOW = 1 << 20
_CONFIG = h2.config.H2Configuration(client_side=True, header_encoding=None)


def forward(pool: H2UpstreamPool, owner: Downstream, exchange: Exchange, head: UpstreamRequest) -> None:
    """Send ``exchange`` to the target over HTTP/2."""
    owner.upstream_active = owner.loop.time()
    key = head.key
    exchange.chunked = False  # HTTP/2 frames the body itself
    if exchange.record is not None:
        exchange.record.forwarded_time = time()
    upstream = H2UpstreamStream(owner, exchange, request_headers(head, key[2]))
    exchange.upstream = upstream
    target = pool.ready(key)
    if target is not None:
        target.open(upstream)
    else:
        owner.loop.create_task(_connect(pool, key, upstream))


async def _connect(pool: H2UpstreamPool, key: PoolKey, upstream: H2UpstreamStream) -> None:
    try:
        target = await pool.connect(key)
    except TimeoutError:
        status = 504  # AWS: connection to the target not established within 10 s
    except (OSError, ssl.SSLError, ConnectionError):
        status = 502
    else:
        if not upstream.closed:
            target.open(upstream)
        return
    if upstream.exchange.record is not None:  # (TargetConnectionErrorCount)
        upstream.exchange.record.target_connection_failed = True
    if not upstream.closed:
        upstream.owner.upstream_failed(upstream, status)


def request_headers(head: UpstreamRequest, tls: bool) -> Headers:
    """The typed upstream head (X-Forwarded-*, Host...) as HTTP/2 headers; this leg frames the body itself."""
    headers = [
        (b":method", head.method), (b":scheme", b"https" if tls else b"http"), (b":path", head.target),
        (b":authority", head.host),
        (b"te", b"trailers"),  # gRPC servers require it; it is the only TE HTTP/2 allows
    ]
    headers += head.headers
    headers += [(name.lower(), value) for name, value in head.lb_headers()]  # (LB-added names may have capitals)
    if head.length is not None:
        headers.append((b"content-length", head.length))
    return headers


class H2UpstreamStream:
    """One request on a shared target connection: an ``exchange.Upstream`` for the client stream."""

    __slots__ = (
        "owner", "exchange", "headers", "target", "id", "pending", "end_pending", "request_ended", "held", "unacked",
        "closed", "full", "until_close",
    )

    def __init__(self, owner: Downstream, exchange: Exchange, headers: Headers) -> None:
        self.owner = owner
        self.exchange = exchange
        self.headers = headers
        self.target: H2Target | None = None
        self.id = 0
        self.pending = bytearray()  # request body waiting for the target's window
        self.end_pending = False
        self.request_ended = False
        self.held = False  # the client stream has response bytes waiting: do not acknowledge the target's
        self.unacked = 0
        self.closed = False
        self.full = False  # ``pending`` waits: the client's request DATA is not acknowledged meanwhile
        self.until_close = False  # (set by the client leg for length-less bodies; HTTP/2 frames them)

    # -- the exchange.Upstream interface (used by the client Stream) ---------------------------------

    def write(self, data: bytes | bytearray) -> None:
        self.pending += data
        self.drain()

    def send_body(self, exchange: Exchange, body: bytes) -> None:
        self.write(body)

    def end_body(self, exchange: Exchange) -> None:
        self.end_pending = True
        self.drain()

    def pause_reading(self) -> None:
        self.held = True

    def resume_reading(self) -> None:
        self.held = False
        if self.unacked and self.target is not None and not self.closed:
            self.target.h2.acknowledge_received_data(self.unacked, self.id)
            self.unacked = 0
            self.target.output()

    def close(self) -> None:
        """Abandoned by the client side (reset, timeout): cancel the stream on the target."""
        if self.closed:
            return
        self.closed = True
        target = self.target
        if target is not None:
            target.streams.pop(self.id, None)
            try:
                target.h2.reset_stream(self.id, h2.errors.ErrorCodes.CANCEL)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                pass
            target.output()

    # -- sending -------------------------------------------------------------------------------------

    def opened(self, target: H2Target, stream_id: int) -> None:
        self.target, self.id = target, stream_id
        exchange = self.exchange
        body, exchange.body = exchange.body, None
        for chunk in body or ():
            self.pending += chunk
        self.end_pending = exchange.request_done
        self.drain()

    def drain(self) -> None:
        target = self.target
        if target is None or self.closed or self.request_ended:
            return
        connection, pending = target.h2, self.pending
        try:
            send_within_window(connection, self.id, pending)
            if not pending and self.end_pending:
                trailers = self.exchange.trailers
                if trailers:  # the client's trailer fields: a trailing HEADERS frame ends the stream
                    connection.send_headers(self.id, trailers, end_stream=True)
                else:
                    connection.end_stream(self.id)
                self.request_ended = True
        except h2.exceptions.StreamClosedError:
            self.request_ended = True  # the target answered and closed its side: the rest is moot
            pending.clear()
        target.output()
        if bool(pending) != self.full:
            self.full = bool(pending)
            if self.full:
                self.owner.pause_reading(UPSTREAM_FULL)
            else:
                self.owner.resume_reading(UPSTREAM_FULL)

    # -- events from the target --------------------------------------------------------------------

    def response(self, headers: Headers, ended: bool) -> None:
        status = next((int(v) for n, v in headers if n == b":status"), 502)
        if ended:
            self.closed = True
        self.owner.upstream_head(status, b"", headers, ended)

    def data(self, data: bytes, flow_length: int) -> None:
        self.owner.upstream_active = self.owner.loop.time()
        self.owner.upstream_body(data)
        if self.held:
            self.unacked += flow_length
        elif self.target is not None:
            self.target.h2.acknowledge_received_data(flow_length, self.id)

    def ended(self, trailers: Headers | None) -> None:
        if self.closed:
            return
        self.closed = True
        self.owner.resume_reading(UPSTREAM_FULL)
        if trailers:
            relayed = relayable_fields(trailers)
            if relayed:
                self.owner.upstream_trailers(relayed)
        self.owner.upstream_done()

    def failed(self) -> None:
        if not self.closed:
            self.owner.upstream_failed(self, 502)  # reset or connection lost (AWS: 502)


class H2Target(asyncio.Protocol):
    """One HTTP/2 connection to a target."""

    def __init__(self, pool: H2UpstreamPool, key: PoolKey) -> None:
        self.pool = pool
        self.key = key
        self.h2 = h2.connection.H2Connection(_CONFIG)
        self.h2.local_settings = h2.settings.Settings(
            client=True,
            initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW, h2.settings.SettingCodes.ENABLE_PUSH: 0},
        )
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, H2UpstreamStream] = {}
        self.trailers: dict[int, Headers] = {}
        self.usable = True  # false after a GOAWAY or a loss
        self.last_active = pool.loop.time()

    def has_room(self) -> bool:
        return self.usable and len(self.streams) < self.h2.remote_settings.max_concurrent_streams

    def open(self, upstream: H2UpstreamStream) -> None:
        stream_id = self.h2.get_next_available_stream_id()
        self.h2.send_headers(stream_id, upstream.headers)
        self.streams[stream_id] = upstream
        upstream.opened(self, stream_id)

    def output(self) -> None:
        data = self.h2.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's transports do not subclass it)
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(4 * WINDOW - 65535)
        self.output()

    def data_received(self, data: bytes) -> None:
        self.last_active = self.pool.loop.time()
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.output()
            self.close()  # connection_lost fails the streams
            return
        for event in events:
            self._event(event)
        self.output()

    def _event(self, event: h2.events.Event) -> None:
        stream_id = getattr(event, "stream_id", 0) or 0
        upstream = self.streams.get(stream_id)
        if isinstance(event, h2.events.ResponseReceived) and upstream is not None:
            upstream.response(event.headers, event.stream_ended is not None)
        elif isinstance(event, h2.events.DataReceived):
            if upstream is not None:
                upstream.data(event.data, event.flow_controlled_length)
            else:
                self.h2.acknowledge_received_data(event.flow_controlled_length, stream_id)
        elif isinstance(event, h2.events.TrailersReceived):
            self.trailers[stream_id] = event.headers
        elif isinstance(event, h2.events.StreamEnded):
            self.streams.pop(stream_id, None)
            trailers = self.trailers.pop(stream_id, None)
            if upstream is not None:
                upstream.ended(trailers)
        elif isinstance(event, h2.events.StreamReset):
            self.streams.pop(stream_id, None)
            if upstream is not None:
                upstream.failed()
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            for each in [upstream] if upstream is not None else list(self.streams.values()):
                each.drain()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.usable = False
            last = event.last_stream_id or 0
            for sid in [s for s in self.streams if s > last]:  # never processed: the target says retry
                self.streams.pop(sid).failed()

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        self.pool.forget(self)
        streams, self.streams = self.streams, {}
        for upstream in streams.values():
            upstream.failed()

    def close(self) -> None:
        self.usable = False
        if self.transport is not None:
            self.transport.close()


class H2UpstreamPool:
    """The listener's HTTP/2 target connections, by (host, port, tls)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, target_tls: TargetTls) -> None:
        self.loop = loop
        self.target_tls = target_tls  # HTTPS targets are reached under the listener's back-end policy
        self.targets: defaultdict[PoolKey, list[H2Target]] = defaultdict(list)
        self.connecting: dict[PoolKey, asyncio.Future[H2Target]] = {}

    def use_tls(self, target_tls: TargetTls) -> None:
        """The listener's back-end policy changed: TLS connections made under the old one take no new streams
        (as after a GOAWAY); idle ones are closed."""
        if target_tls is self.target_tls:
            return
        self.target_tls = target_tls
        for key, targets in self.targets.items():
            if key[2]:
                for target in targets:
                    if target.streams:
                        target.usable = False
                    else:
                        target.close()

    def ready(self, key: PoolKey) -> H2Target | None:
        return next((t for t in self.targets.get(key, ()) if t.has_room()), None)

    async def connect(self, key: PoolKey) -> H2Target:
        """A connection with room, opening one (shared by everyone waiting for it) when none has."""
        while True:
            target = self.ready(key)
            if target is not None:
                return target
            pending = self.connecting.get(key)
            if pending is None:
                pending = self.connecting[key] = self.loop.create_task(self._open(key))
                pending.add_done_callback(lambda _: self.connecting.pop(key, None))
            target = await asyncio.shield(pending)
            if target.has_room():
                return target

    async def _open(self, key: PoolKey) -> H2Target:
        host, port, tls = key
        transport, target = await asyncio.wait_for(
            self.loop.create_connection(lambda: H2Target(self, key), host, port, ssl=self.target_tls.h2_context if tls else None),
            CONNECT_TIMEOUT,
        )
        ssl_object = transport.get_extra_info("ssl_object")
        if tls and (ssl_object is None or ssl_object.selected_alpn_protocol() != "h2"):
            transport.close()
            raise ConnectionError("target did not negotiate h2")
        self.targets[key].append(target)
        return target

    def forget(self, target: H2Target) -> None:
        targets = self.targets.get(target.key)
        if targets and target in targets:
            targets.remove(target)
            if not targets:
                del self.targets[target.key]

    def sweep(self, now: float, idle_timeout: float) -> None:
        """Close connections without streams idle longer than the LB's idle timeout."""
        for targets in list(self.targets.values()):
            for target in list(targets):
                if not target.streams and now - target.last_active > idle_timeout:
                    target.close()

    def close(self) -> None:
        for targets in list(self.targets.values()):
            for target in list(targets):
                target.close()
        self.targets.clear()
