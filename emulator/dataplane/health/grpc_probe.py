"""gRPC health checks (GRPC target groups): a real gRPC call over HTTP/2, judged by its grpc-status.

AWS sends ``POST <HealthCheckPath>`` (default ``/AWS.ALB/healthcheck``) as a gRPC request on a fresh
connection (TLS with ALPN h2 when HealthCheckProtocol is HTTPS, else prior-knowledge h2c) and compares the
grpc-status of the answer with ``Matcher.GrpcCode`` (default ``12``, UNIMPLEMENTED: any gRPC server that is
up answers an unknown method with it; forms ``0``, ``0,12``, ``0-99``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import cast

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from emulator.dataplane.health.states import FAILED, TIMED_OUT, CheckResult, response_code_mismatch
from emulator.dataplane.tls.targets import TARGET_TLS_H2

_CONFIG = h2.config.H2Configuration(client_side=True, header_encoding=None)
_EMPTY_MESSAGE = b"\x00\x00\x00\x00\x00"  # uncompressed, zero-length gRPC message
Done = Callable[[CheckResult], None]


class _GrpcCall(asyncio.Protocol):
    """Sends one gRPC request on stream 1; resolves ``done`` with its grpc-status (None: no valid answer)."""

    def __init__(self, path: str, authority: str, tls: bool, done: asyncio.Future[int | None]) -> None:
        self._h2 = h2.connection.H2Connection(_CONFIG)
        self._headers = [
            (b":method", b"POST"), (b":scheme", b"https" if tls else b"http"), (b":path", path.encode()),
            (b":authority", authority.encode()), (b"content-type", b"application/grpc"), (b"te", b"trailers"),
            (b"user-agent", b"ELB-HealthChecker/2.0"),
        ]
        self._done = done
        self._status: int | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream connection's transport is a Transport; the Protocol API types it as the base class.
        self._transport = cast(asyncio.Transport, transport)
        self._h2.initiate_connection()
        self._h2.send_headers(1, self._headers)
        self._h2.send_data(1, _EMPTY_MESSAGE, end_stream=True)
        self._transport.write(self._h2.data_to_send())

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._resolve(None)
            return
        for event in events:
            if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                self._status = _grpc_status(event.headers, self._status)
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


def _grpc_status(headers: list[tuple[bytes, bytes]], current: int | None) -> int | None:
    for name, value in headers:
        if name == b"grpc-status" and value.isdigit():
            return int(value)
    return current


async def grpc_check(host: str, port: int, path: str, codes: frozenset[int], timeout: float, tls: bool) -> CheckResult:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int | None] = loop.create_future()
    transport: asyncio.BaseTransport | None = None
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        async with asyncio.timeout(timeout):
            transport, _ = await loop.create_connection(
                lambda: _GrpcCall(path, authority, tls, done), host, port, ssl=TARGET_TLS_H2 if tls else None
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
        return FAILED  # not a gRPC answer (no grpc-status), reset, or closed
    return None if status in codes else response_code_mismatch(status)


def start_grpc_probe(
    host: str, port: int, path: str, codes: frozenset[int], timeout: float, tls: bool, done: Done
) -> None:
    """Start one gRPC check on the running loop; ``done`` gets its result."""
    task = asyncio.get_running_loop().create_task(grpc_check(host, port, path, codes, timeout, tls))
    task.add_done_callback(lambda finished: done(finished.result()))
