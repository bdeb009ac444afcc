"""One health check against one target: an HTTP(S) GET or a TCP connect, on a fresh connection.

AWS sends ``GET <path> HTTP/1.1`` with ``Host: <target IP>:<port>``, ``Connection: close`` and
``User-Agent: ELB-HealthChecker/2.0``, and closes the connection afterwards; a TCP check passes when the
handshake completes. Probes are asyncio Protocols on the data-plane loop: no threads, no blocking, and
nothing beyond the status line is read.
"""

from __future__ import annotations

import asyncio
import ssl
from functools import lru_cache

from emulator.dataplane.health_states import FAILED, TIMED_OUT, CheckResult, response_code_mismatch

_MAX_STATUS_LINE = 8192  # a target that sends this much without a line break is not speaking HTTP


@lru_cache(maxsize=256)
def parse_matcher(spec: str) -> frozenset[int]:
    """``Matcher.HttpCode`` forms: ``"200"``, ``"200,202"``, ``"200-299"`` and combinations of them."""
    codes: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        codes.update(range(int(low), int(high or low) + 1))
    return frozenset(codes)


def _insecure_context() -> ssl.SSLContext:
    # AWS never verifies target certificates (checklist 3.1), for traffic or for health checks.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_TLS = _insecure_context()


class _StatusLine(asyncio.Protocol):
    """Sends the request, resolves ``done`` with the response status code (None: not an HTTP answer)."""

    __slots__ = ("_request", "_done", "_buffer")

    def __init__(self, request: bytes, done: asyncio.Future[int | None]) -> None:
        self._request = request
        self._done = done
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self._request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n")
        if end < 0 and len(self._buffer) < _MAX_STATUS_LINE:
            return
        if not self._done.done():
            self._done.set_result(_status_code(self._buffer[: max(end, 0)]))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self._done.set_result(None)


class _Connect(asyncio.Protocol):
    __slots__ = ()


def _status_code(line: bytes) -> int | None:
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    return int(parts[1])


def http_request(path: str, host: str, port: int) -> bytes:
    return (
        f"GET {path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
        "User-Agent: ELB-HealthChecker/2.0\r\n\r\n"
    ).encode("latin-1")


async def http_check(
    host: str, port: int, request: bytes, codes: frozenset[int], timeout: float, tls: bool, nlb: bool
) -> CheckResult:
    """GET over HTTP or HTTPS; passes when the status is one ``codes`` allows."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int | None] = loop.create_future()
    transport: asyncio.BaseTransport | None = None
    try:
        async with asyncio.timeout(timeout):
            transport, _ = await loop.create_connection(
                lambda: _StatusLine(request, done), host, port, ssl=_TLS if tls else None
            )
            status = await done
    except TimeoutError:
        return FAILED if nlb else TIMED_OUT
    except (OSError, ssl.SSLError):
        return FAILED
    finally:
        if transport is not None:
            # Let the target finish its answer and close (Connection: close) rather than reset it
            # mid-write; a target that keeps the connection open is cut off after one more timeout.
            loop.call_later(timeout, transport.close)
    if status is None:
        return FAILED
    if status in codes:
        return None
    return FAILED if nlb else response_code_mismatch(status)


async def tcp_check(host: str, port: int, timeout: float, nlb: bool) -> CheckResult:
    """Passes when the TCP handshake completes."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            transport, _ = await loop.create_connection(_Connect, host, port)
    except TimeoutError:
        return FAILED if nlb else TIMED_OUT
    except OSError:
        return FAILED
    transport.close()
    return None
