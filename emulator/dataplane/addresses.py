"""Binding a listener's sockets, with the documented remap when the LB's own address or port is unavailable.

Every load balancer owns a loopback address (127.1.x.y; Linux routes all of 127.0.0.0/8 locally), so two
LBs can both listen on port 80. Where that address does not exist (macOS, some containers) the listener
binds 127.0.0.1 instead; where the port cannot be bound (below 1024 without privileges, or taken by another
program, e.g. a second emulator that gave its first LB the same 127.1.0.1) it binds an ephemeral port. With
``--listen-host`` there is no remap: every LB shares that one address, which is usually published by a
container runtime port by port, so another port would be unreachable; the API refuses such a listener
(``ListenerPorts``). ``GET /_emulator/listeners`` reports the outcome (``ListenerAddress``).

Sockets are bound here with plain ``socket`` calls (numeric addresses: nothing blocks) and handed to the
loop with ``sock=``: that gives a real errno (uvloop's ``create_datagram_endpoint`` raises an OSError
without one), and lets TCP_UDP bind both halves on one port, or neither, before any server exists.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from emulator.dataplane.published_ports import PublishedPorts

FALLBACK_HOST = "127.0.0.1"
TCP, UDP = socket.SOCK_STREAM, socket.SOCK_DGRAM
_TRANSPORTS = {
    "HTTP": (TCP,), "HTTPS": (TCP,), "TCP": (TCP,), "TLS": (TCP,), "UDP": (UDP,), "TCP_UDP": (TCP, UDP),
    "QUIC": (UDP,), "TCP_QUIC": (TCP, UDP),
}
_PORT_UNAVAILABLE = (errno.EACCES, errno.EADDRINUSE, errno.EPERM)
# TCP_UDP on an ephemeral port: the port TCP got may be taken for UDP; a few draws find one free for both.
_SHARED_PORT_ATTEMPTS = 16


@dataclass(frozen=True, slots=True)
class ListenerAddress:
    """Where a listener accepts traffic, or why it does not: one entry of ``GET /_emulator/listeners``."""

    requested: str  # host:port the listener was asked to bind
    address: str | None = None  # host:port it accepts traffic on; None when it is not listening
    reason: str | None = None  # why ``address`` is not ``requested`` (remapped), or why there is none (failed)

    @property
    def state(self) -> str:
        if self.address is None:
            return "failed"
        return "listening" if self.address == self.requested else "remapped"

    def failed(self, reason: str) -> ListenerAddress:
        return ListenerAddress(self.requested, None, reason)


def transports(protocol: str | None) -> tuple[int, ...]:
    """The socket types a listener of this protocol binds (none for protocols without a data plane)."""
    return _TRANSPORTS.get(protocol or "", ())


def bind_listener(
    host: str, port: int, kinds: Sequence[int], may_remap: bool, backlog: int
) -> tuple[tuple[socket.socket, ...], ListenerAddress]:
    """Bind one socket per kind (TCP listening, UDP), all on one host:port, remapping as described above.
    Raises OSError (with a message naming the address) when nothing can be bound; never leaks a socket."""
    requested = f"{host}:{port}"
    try:
        return _bind_all(host, port, kinds, backlog), ListenerAddress(requested, requested)
    except OSError as error:
        if not may_remap or error.errno not in (errno.EADDRNOTAVAIL, *_PORT_UNAVAILABLE):
            raise _failure(host, port, kinds, error) from error
        first = error
    if first.errno == errno.EADDRNOTAVAIL:
        if host == FALLBACK_HOST:
            raise _failure(host, port, kinds, first) from first
        reason = f"{host} is not a local address, {FALLBACK_HOST} instead"
        try:
            sockets = _bind_all(FALLBACK_HOST, port, kinds, backlog)
            return sockets, _remapped(requested, sockets, reason)
        except OSError as error:
            if error.errno not in _PORT_UNAVAILABLE:
                raise _failure(FALLBACK_HOST, port, kinds, error) from error
            host, first = FALLBACK_HOST, error
    reason = f"port {port} on {host}: {first.strerror}; an ephemeral port instead"
    for _ in range(_SHARED_PORT_ATTEMPTS):
        try:
            sockets = _bind_all(host, 0, kinds, backlog)
            return sockets, _remapped(requested, sockets, reason)
        except OSError as error:
            if error.errno != errno.EADDRINUSE or len(kinds) < 2:  # only a shared port is worth another draw
                raise _failure(host, 0, kinds, error) from error
    raise OSError(errno.EADDRINUSE, f"no port on {host} is free for both TCP and UDP")


def _remapped(requested: str, sockets: tuple[socket.socket, ...], reason: str) -> ListenerAddress:
    host, port = sockets[0].getsockname()[:2]
    return ListenerAddress(requested, f"{host}:{port}", reason)


def _bind_all(host: str, port: int, kinds: Sequence[int], backlog: int) -> tuple[socket.socket, ...]:
    """Bind every kind on host:port (port 0: the port the first socket draws); all or nothing."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for kind in kinds:
            sock = socket.socket(family, kind)
            sockets.append(sock)
            sock.setblocking(False)
            if kind == TCP:  # a restart must not wait out TIME_WAIT; never for UDP, where it means sharing the port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            if kind == TCP:  # listen at once: a foreign SO_REUSEADDR socket may bind the port until we do
                sock.listen(backlog)
            port = sock.getsockname()[1]
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return tuple(sockets)


def _failure(host: str, port: int, kinds: Sequence[int], error: OSError) -> OSError:
    names = "+".join("TCP" if kind == TCP else "UDP" for kind in kinds)
    return OSError(error.errno, f"cannot bind {names} {host}:{port}: {error.strerror or error}")


class ListenerPorts:
    """Asked by the API before it commits a listener (the control plane's ``ListenerPorts`` protocol):
    whether the data plane could bind it at all. With ``--listen-host`` that means the exact port; with
    ``--listener-ports`` (``published``), a port of the range left for a new listener."""

    def __init__(self, listen_host: str | None, published: PublishedPorts | None = None) -> None:
        self._listen_host = listen_host
        self._published = published

    def refusal(self, lb_address: str, port: int, protocol: str | None, held_protocol: str | None,
                creating: bool) -> str | None:
        """Why a listener of ``protocol`` on ``port`` cannot be bound, or None. ``held_protocol``: the protocol
        of the listener being modified when it already holds this port (its own sockets are not in the way)."""
        if self._published is not None:
            if creating and transports(protocol) and not self._published.has_room():
                return f"every port of the listener port range {self._published.range} is in use"
            return None
        kinds = [kind for kind in transports(protocol) if kind not in transports(held_protocol)]
        if not kinds:
            return None
        try:
            sockets, _ = bind_listener(self._listen_host or lb_address, port, kinds, self._listen_host is None, 1)
        except OSError as error:
            return str(error.strerror or error)
        for sock in sockets:
            sock.close()
        return None
