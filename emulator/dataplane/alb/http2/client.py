"""HTTP/2 clients of an HTTPS listener (ALPN ``h2``), served with the ``h2`` library.

Each stream is one request through the same chain as HTTP/1.1: a ``Stream`` is an ``exchange.Downstream``
like a ``ClientConnection``, so HTTP1 target groups get HTTP/1.1 from a pooled connection and HTTP2/GRPC
groups get HTTP/2 (``http2.upstream``). As on AWS ("HTTP/2 support" in "Listeners for your Application Load
Balancers"): at most 128 concurrent streams, GOAWAY after 10,000 requests, no server push.

Flow control is the backpressure: request DATA is acknowledged (WINDOW_UPDATE) once handed to the target
leg, and held while that leg is full; response bytes go out only within the client's windows, and the
target's reading pauses while a stream has bytes waiting for window.
"""

from __future__ import annotations

import asyncio
from typing import cast

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import GoAwayFrame

from emulator.dataplane.alb.client_records import Observed
from emulator.dataplane.alb.heads import Headers
from emulator.dataplane.alb.http2.stream import Stream
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.state import Listener

MAX_STREAMS = 128  # AWS: "up to 128 parallel requests using one HTTP/2 connection"
MAX_REQUESTS = 10_000  # AWS: GOAWAY once a connection has carried 10,000 requests
WINDOW = 1 << 20  # receive window granted per stream (and 4x for the connection)
# Inbound headers are validated (malformed requests are refused); outbound ones are built here, lower-case.
_CONFIG = h2.config.H2Configuration(
    client_side=False, header_encoding=None, validate_outbound_headers=False, normalize_outbound_headers=False
)


class H2Request(Request):
    __slots__ = ()
    http2 = True


class H2ClientConnection(asyncio.Protocol):
    """One client connection speaking HTTP/2; its streams are ``Stream`` objects."""

    transport: asyncio.Transport  # set by connection_made, before anything else happens

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.loop = listener.loop
        self.h2 = h2.connection.H2Connection(_CONFIG)
        self.h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW,
            },
        )
        self.streams: dict[int, Stream] = {}
        self.peer, self.peer_port = "", 0
        self.tls_headers: Headers = []
        self.observed: Observed | None = None  # its connection record and TLS session (observed listeners)
        self.requests = 0
        self.last_stream = 0
        self.going_away = False  # GOAWAY sent: finish the open streams, then close
        self.closing = False
        self.output_scheduled = False
        self.created = self.last_active = self.loop.time()

    # -- transport events ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's transports do not subclass it)
        if not self.listener.admit(self, transport):
            return
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(4 * WINDOW - 65535)
        self.output()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.listener.clients.discard(self)
        if self.observed is not None:
            self.observed.closed()
        for stream in list(self.streams.values()):
            stream.exchange.release()  # AWS logs 460: the client closed first
        self.streams.clear()

    def data_received(self, data: bytes) -> None:
        self.last_active = self.loop.time()
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.output()  # h2 has queued a GOAWAY saying why
            self.close()
            return
        for event in events:
            self._event(event)
        self.output()

    def _event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            self._request(event)
            return
        stream = self.streams.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, h2.events.DataReceived):
            if stream is not None:
                stream.request_body(event.data, event.flow_controlled_length)
            else:  # a stream we already answered and dropped: keep the connection window open
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded) and stream is not None:
            stream.request_end()
        elif isinstance(event, h2.events.StreamReset) and stream is not None:
            stream.reset_by_client()
        elif isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            targets = [stream] if stream is not None else list(self.streams.values())
            for each in targets:
                each.drain()
        elif isinstance(event, h2.events.TrailersReceived) and stream is not None:
            stream.request_trailers(event.headers)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.go_away()

    def _request(self, event: h2.events.RequestReceived) -> None:
        if self.going_away:  # past the last stream we serve: the client may retry it elsewhere
            self.h2.reset_stream(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
            return
        self.requests += 1
        self.last_stream = event.stream_id
        request = _request(event.headers, self.peer, self.peer_port)
        stream = self.streams[event.stream_id] = Stream(self, event.stream_id, request)
        exchange = stream.exchange
        exchange.head_only = request.method == "HEAD"
        ended = event.stream_ended is not None
        exchange.request_done = ended
        # A body without content-length reaches an HTTP/1.1 target chunked.
        exchange.chunked = not ended and not any(n == b"content-length" for n, _ in request.headers)
        self.listener.state.chain.run(exchange)
        if self.requests >= MAX_REQUESTS:
            self.go_away()

    def pause_writing(self) -> None:  # the h2 windows bound what we queue; nothing more to do
        pass

    def resume_writing(self) -> None:
        pass

    # -- output ----------------------------------------------------------------------------------

    def output(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.closing:
            self.transport.write(data)

    def output_soon(self) -> None:
        """Write what the streams queued once this loop iteration is over: the frames of every response
        that targets completed meanwhile leave in one TLS record/syscall instead of several per stream."""
        if not self.output_scheduled:
            self.output_scheduled = True
            self.loop.call_soon(self._scheduled_output)

    def _scheduled_output(self) -> None:
        self.output_scheduled = False
        self.output()

    def stream_closed(self, stream: Stream) -> None:
        self.streams.pop(stream.id, None)
        self.last_active = self.loop.time()
        if self.going_away and not self.streams:
            self._goaway_frame()

    def go_away(self) -> None:
        """Serve no new stream; once the open ones are answered, send GOAWAY naming the last stream served
        and close. (The GOAWAY waits for them because clients built on ``h2``, httpx among them, drop every
        frame that follows a GOAWAY; new streams meanwhile are refused, which clients retry.)"""
        if self.going_away or self.closing:
            return
        self.going_away = True
        if not self.streams:
            self._goaway_frame()

    def _goaway_frame(self) -> None:
        if not self.closing:
            self.output()  # written by hand: h2 sends nothing after its own GOAWAY
            self.transport.write(GoAwayFrame(0, last_stream_id=self.last_stream, error_code=0).serialize())
            self.close()

    def close(self) -> None:
        if not self.closing:
            self.output()
            self.closing = True
            self.transport.close()

    def tick(self, now: float, idle_timeout: float) -> None:
        """Idle timeouts (listener ticker): 504 for a stream whose target is silent too long; GOAWAY for an
        idle connection or one past ``client_keep_alive.seconds``."""
        for stream in list(self.streams.values()):
            exchange = stream.exchange
            if exchange.upstream is not None and not exchange.response_started:
                if now - max(stream.upstream_active, self.last_active) > idle_timeout:
                    upstream, exchange.upstream = exchange.upstream, None
                    upstream.close()
                    stream.fail(504)
        if self.listener.state.past_lifetime(self.created, now) or (
            not self.streams and now - self.last_active > idle_timeout
        ):
            self.go_away()
        self.output()


def _request(headers: list[tuple[bytes, bytes]], peer: str, peer_port: int) -> H2Request:
    request = H2Request(peer, peer_port)
    authority = b""
    cookies: list[bytes] = []
    for name, value in headers:
        if name[:1] == b":":
            if name == b":method":
                request.method = value.decode("latin-1")
            elif name == b":path":
                request.url = value
            elif name == b":authority":
                authority = value
        elif name == b"cookie":
            cookies.append(value)  # HTTP/2 may split cookies; HTTP/1.1 wants one header (RFC 9113 8.2.3)
        else:
            request.headers.append((name, value))
            if name == b"host" and not authority:
                authority = value
    if cookies:
        request.headers.append((b"cookie", b"; ".join(cookies)))
    request.host = authority.decode("latin-1")
    return request
