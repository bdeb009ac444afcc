"""One health check against one target: an HTTP(S) GET or a TCP connect, on a fresh connection.

AWS sends ``GET <path> HTTP/1.1`` with ``Host: <target IP>:<port>``, ``Connection: close`` and
``User-Agent: ELB-HealthChecker/2.0``, and closes the connection afterwards; a TCP check passes when the
handshake completes. Probes run on the data-plane loop (raw non-blocking sockets driven by loop callbacks,
or an asyncio transport for HTTPS): no threads, no blocking; only the status line is looked at.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
from collections.abc import Callable
from functools import lru_cache
from typing import cast

from emulator.dataplane.health.states import FAILED, TIMED_OUT, CheckResult, response_code_mismatch
from emulator.dataplane.tls.targets import HEALTH_CHECK_TLS

_MAX_STATUS_LINE = 8192  # a target that sends this much without a line break is not speaking HTTP


class _StatusLine(asyncio.Protocol):
    """Sends the request, resolves ``done`` with the response status code (None: not an HTTP answer)."""

    __slots__ = ("_request", "_done", "_buffer")

    def __init__(self, request: bytes, done: asyncio.Future[int | None]) -> None:
        self._request = request
        self._done = done
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream connection's transport is a Transport; the Protocol API types it as the base class.
        cast(asyncio.Transport, transport).write(self._request)

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


def http_request(path: str, authority: str) -> bytes:
    return (
        f"GET {path or '/'} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n"
        "User-Agent: ELB-HealthChecker/2.0\r\n\r\n"
    ).encode("latin-1")


def _verdict(status: int | None, codes: frozenset[int], nlb: bool) -> CheckResult:
    if status is None:
        return FAILED  # closed or answered something that is not HTTP
    if status in codes:
        return None
    return FAILED if nlb else response_code_mismatch(status)


Done = Callable[[CheckResult], None]


def start_probe(
    host: str, port: int, request: bytes | None, codes: frozenset[int], timeout: float, tls: bool, nlb: bool, done: Done
) -> None:
    """Start one check (an HTTP GET, or a TCP connect when ``request`` is None); ``done`` gets its result.

    Plain checks to an IP address are raw non-blocking sockets driven by loop callbacks (no task, future
    or transport per check: 1,000 targets at 1 s intervals stay cheap); HTTPS goes through an SSL transport.
    """
    loop = asyncio.get_running_loop()
    if tls or not _is_ip(host):
        task = loop.create_task(_transport_check(host, port, request, codes, timeout, tls, nlb))
        task.add_done_callback(lambda finished: done(finished.result()))
        return
    _RawCheck(loop, request, codes, nlb, done).start(host, port, timeout)


@lru_cache(maxsize=4096)
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: resolving it must not block the loop, so the transport path resolves it
    return True


class _RawCheck:
    """One check on a non-blocking socket: connect, send the GET, read the status line, drain until EOF."""

    __slots__ = ("_loop", "_sock", "_fd", "_request", "_codes", "_nlb", "_done", "_timer", "_buffer", "_answered")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, request: bytes | None, codes: frozenset[int], nlb: bool, done: Done
    ) -> None:
        self._loop = loop
        self._request = request
        self._codes = codes
        self._nlb = nlb
        self._done = done
        self._buffer = b""
        self._answered = False

    def start(self, host: str, port: int, timeout: float) -> None:
        sock = self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        self._fd = sock.fileno()
        self._timer = self._loop.call_later(timeout, self._timed_out)
        error = sock.connect_ex((host, port))
        if error not in (0, errno.EINPROGRESS):
            self._finish(FAILED)
        elif not self._proceed():
            self._loop.add_writer(self._fd, self._connected)

    def _connected(self) -> None:
        self._loop.remove_writer(self._fd)
        if not self._proceed():
            self._finish(FAILED)  # writable but still not connected

    def _proceed(self) -> bool:
        """Send the GET (or, for a TCP check, pass) if the handshake is done; False while it is not.

        On loopback the handshake completes inside ``connect``, so trying at once saves a loop round
        trip and two epoll registrations per check."""
        sock = self._sock
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            self._finish(FAILED)  # refused, unreachable
            return True
        try:
            if self._request is None:
                sock.getpeername()  # raises ENOTCONN until the handshake completes
                self._finish(None)  # TCP check: the handshake completed
                return True
            sock.send(self._request)  # a few hundred bytes: fits an empty send buffer
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as error:
            if error.errno == errno.ENOTCONN:
                return False
            self._finish(FAILED)
            return True
        self._loop.add_reader(self._fd, self._readable)
        return True

    def _readable(self) -> None:
        try:
            data = self._sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # EOF (Connection: close) or reset
            if not self._answered:
                self._answer(_verdict(_status_code(self._buffer.split(b"\r\n", 1)[0]), self._codes, self._nlb))
            self._close()
        elif not self._answered:
            # Keep reading after the status line so the target finishes its answer and closes first,
            # instead of writing into a reset socket.
            self._buffer += data
            end = self._buffer.find(b"\r\n")
            if end >= 0 or len(self._buffer) >= _MAX_STATUS_LINE:
                self._answer(_verdict(_status_code(self._buffer[: max(end, 0)]), self._codes, self._nlb))

    def _timed_out(self) -> None:
        if not self._answered:
            self._answer(FAILED if self._nlb else TIMED_OUT)
        self._close()  # answered but never closed by the target: cut it off now

    def _answer(self, result: CheckResult) -> None:
        self._answered = True
        self._done(result)

    def _finish(self, result: CheckResult) -> None:
        self._answer(result)
        self._close()

    def _close(self) -> None:
        self._timer.cancel()
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        self._sock.close()


async def _transport_check(
    host: str, port: int, request: bytes | None, codes: frozenset[int], timeout: float, tls: bool, nlb: bool
) -> CheckResult:
    """The same check through an asyncio transport: for HTTPS, and for targets given by name."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int | None] = loop.create_future()
    transport: asyncio.BaseTransport | None = None
    factory = _Connect if request is None else (lambda: _StatusLine(request, done))
    try:
        async with asyncio.timeout(timeout):
            transport, _ = await loop.create_connection(factory, host, port, ssl=HEALTH_CHECK_TLS if tls else None)
            if request is None:
                return None
            status = await done
    except TimeoutError:
        return FAILED if nlb else TIMED_OUT
    except (OSError, ssl.SSLError):
        return FAILED
    finally:
        if transport is not None:
            # As above: let the target finish and close; cut off after one more timeout.
            loop.call_later(0 if request is None else timeout, transport.close)
    return _verdict(status, codes, nlb)
