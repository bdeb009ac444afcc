"""Health checks over HTTP/2: gRPC calls (GRPC target groups) and GETs (HTTP2 target groups).

Both go on a fresh connection, TLS with ALPN h2 when HealthCheckProtocol is HTTPS, else prior-knowledge h2c,
as the ALB talks to such targets ("Target groups for your Application Load Balancers", protocol version:
HTTP/2 and gRPC targets are sent HTTP/2). A gRPC check sends ``POST <HealthCheckPath>`` (default
``/AWS.ALB/healthcheck``) and compares the grpc-status of the answer with ``Matcher.GrpcCode`` (default
``12``, UNIMPLEMENTED: any gRPC server that is up answers an unknown method with it; forms ``0``, ``0,12``,
``0-99``). An HTTP2 group's check sends ``GET <HealthCheckPath>`` and compares ``:status`` with
``Matcher.HttpCode`` (default ``200``), as its HTTP/1.1 counterpart does. A target that does not speak
HTTP/2 (an HTTP/1-only server answers the connection preface with an HTTP/1 error, or closes) fails with
``Target.FailedHealthChecks``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Coroutine
from typing import cast

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from emulator.dataplane.health.states import FAILED, TIMED_OUT, CheckResult, response_code_mismatch
from emulator.dataplane.tls.targets import HEALTH_CHECK_TLS_H2

_CONFIG = h2.config.H2Configuration(client_side=True, header_encoding=None)
_EMPTY_MESSAGE = b"\x00\x00\x00\x00\x00"  # uncompressed, zero-length gRPC message
USER_AGENT = b"ELB-HealthChecker/2.0"
Done = Callable[[CheckResult], None]


class _H2Exchange(asyncio.Protocol):
    """Sends one request on stream 1 and resolves ``done`` with its status: grpc-status (gRPC: from the
    headers or the trailers, once the stream ends) or ``:status`` (HTTP: at the response headers). None:
    no valid answer."""

    def __init__(self, headers: list[tuple[bytes, bytes]], body: bytes | None, grpc: bool,
                 done: asyncio.Future[int | None]) -> None:
        self._h2 = h2.connection.H2Connection(_CONFIG)
        self._headers = headers
        self._body = body
        self._grpc = grpc
        self._done = done
        self._status: int | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream connection's transport is a Transport; the Protocol API types it as the base class.
        self._transport = cast(asyncio.Transport, transport)
        self._h2.initiate_connection()
        self._h2.send_headers(1, self._headers, end_stream=self._body is None)
        if self._body is not None:
            self._h2.send_data(1, self._body, end_stream=True)
        self._transport.write(self._h2.data_to_send())

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError:  # e.g. an HTTP/1 server's answer to the preface
            self._resolve(None)
            return
        for event in events:
            if isinstance(event, h2.events.ResponseReceived) and not self._grpc:
                self._resolve(_status(event.headers, b":status", None))
            elif isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                self._status = _status(event.headers, b"grpc-status", self._status)
            elif isinstance(event, h2.events.DataReceived):
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self._resolve(self._status)
            elif isinstance(event, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                self._resolve(None)
        outgoing = self._h2.data_to_send()
        if outgoing and self._transport is not None:
            self._transport.write(outgoing)

    def connection_lost(self, exc: Exception | None) -> None:
        self._resolve(None)

    def _resolve(self, status: int | None) -> None:
        if not self._done.done():
            self._done.set_result(status)


def _status(headers: list[tuple[bytes, bytes]], header: bytes, current: int | None) -> int | None:
    for name, value in headers:
        if name == header and value.isdigit():
            return int(value)
    return current


def _headers(method: bytes, path: str, authority: str, tls: bool) -> list[tuple[bytes, bytes]]:
    return [(b":method", method), (b":scheme", b"https" if tls else b"http"), (b":path", (path or "/").encode()),
            (b":authority", authority.encode())]


async def _h2_check(host: str, port: int, exchange: Callable[[asyncio.Future[int | None]], _H2Exchange],
                    codes: frozenset[int], timeout: float, tls: bool) -> CheckResult:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int | None] = loop.create_future()
    transport: asyncio.BaseTransport | None = None
    try:
        async with asyncio.timeout(timeout):
            transport, _ = await loop.create_connection(
                lambda: exchange(done), host, port, ssl=HEALTH_CHECK_TLS_H2 if tls else None
            )
            status = await done
    except TimeoutError:
        return TIMED_OUT
    except (OSError, ssl.SSLError):
        return FAILED
    finally:
        if transport is not None:
            transport.close()
    if status is None:
        return FAILED  # not an HTTP/2 answer (or, for gRPC, no grpc-status), reset, or closed
    return None if status in codes else response_code_mismatch(status)


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _start(check: Coroutine[object, object, CheckResult], done: Done) -> None:
    task = asyncio.get_running_loop().create_task(check)
    task.add_done_callback(lambda finished: done(finished.result()))


def start_grpc_probe(
    host: str, port: int, path: str, codes: frozenset[int], timeout: float, tls: bool, done: Done
) -> None:
    """Start one gRPC check on the running loop; ``done`` gets its result."""
    headers = _headers(b"POST", path, _authority(host, port), tls) + [
        (b"content-type", b"application/grpc"), (b"te", b"trailers"), (b"user-agent", USER_AGENT)]
    _start(_h2_check(host, port, lambda future: _H2Exchange(headers, _EMPTY_MESSAGE, True, future),
                     codes, timeout, tls), done)


def start_http2_probe(
    host: str, port: int, path: str, codes: frozenset[int], timeout: float, tls: bool, done: Done
) -> None:
    """Start one HTTP/2 GET check (an HTTP2 target group's) on the running loop; ``done`` gets its result."""
    headers = _headers(b"GET", path, _authority(host, port), tls) + [(b"user-agent", USER_AGENT)]
    _start(_h2_check(host, port, lambda future: _H2Exchange(headers, None, False, future), codes, timeout, tls),
           done)
