"""Reaching listeners through the API port: a connection whose first request's ``Host`` names a load balancer
is handed to that load balancer's listener, for containers and remote use where only the API port is
published (README "Reaching listeners through the API port").

Names: the load balancer's ``DNSName``, or ``<name>.elb.localhost``; either may start with a listener port,
``8080.<name>.elb.localhost`` or ``8080.<DNSName>``. Without a port the load balancer's HTTP:80 listener
serves it, else its only HTTP listener. The whole connection goes to the listener, which serves it as if it
had accepted it: its security groups, rules, stickiness, X-Forwarded-* (the client's own address) and error
pages. Only HTTP listeners: the API port speaks no TLS.
"""

from __future__ import annotations

import re
import socket
import time
from typing import Protocol

from api_models.resources import Listener, LoadBalancer
from emulator.store import Store

SHORT_SUFFIX = ".elb.localhost"
_MAX_HEAD = 16 * 1024
_HEAD_DEADLINE = 1.0  # seconds a client may take to send the request head it began
_IDLE_TIMEOUT = 120  # seconds a new connection may wait before its first byte (as the API's keep-alive wait)
_HOST = re.compile(rb"\r\nhost:[ \t]*([^\r\n]*)\r\n", re.IGNORECASE)


class ConnectionAdopter(Protocol):
    """The data plane's side (``DataPlane.adopt``)."""

    def adopt(self, listener_arn: str, sock: socket.socket) -> bool: ...


class HostRouter:
    def __init__(self, store: Store, dataplane: ConnectionAdopter) -> None:
        self._store = store
        self._dataplane = dataplane

    def take(self, sock: socket.socket) -> bool:
        """Hand ``sock`` (just accepted, nothing read yet) to a listener when its first request's Host names a
        load balancer, or answer it 404 when that load balancer has no listener to serve it. False: the API's."""
        sock.settimeout(_IDLE_TIMEOUT)  # (a client that connects and sends nothing holds only its thread)
        host = _peeked_host(sock)
        if host is None:
            return False
        name, port = _split(host)
        balancer = self._balancer(name)
        if balancer is None:
            return False
        listener, problem = self._listener(balancer, port)
        if listener is not None and self._dataplane.adopt(listener.ListenerArn, sock.dup()):
            return True
        _not_found(sock, problem or f"listener {listener.ListenerArn if listener else ''} is not running")
        return True

    def _balancer(self, name: str) -> LoadBalancer | None:
        balancers = self._store.snapshot(LoadBalancer)
        if name.endswith(SHORT_SUFFIX):
            short = name[: -len(SHORT_SUFFIX)]
            return next((lb for lb in balancers if lb.LoadBalancerName.lower() == short), None)
        return next((lb for lb in balancers if (lb.DNSName or "").lower() == name), None)

    def _listener(self, balancer: LoadBalancer, port: int | None) -> tuple[Listener | None, str]:
        listeners = [li for li in self._store.snapshot(Listener) if li.LoadBalancerArn == balancer.LoadBalancerArn]
        http = [li for li in listeners if li.Protocol == "HTTP"]
        if port is not None:
            chosen = next((li for li in listeners if li.Port == port), None)
        else:
            chosen = next((li for li in http if li.Port == 80), http[0] if len(http) == 1 else None)
        have = ", ".join(f"{li.Protocol}:{li.Port}" for li in listeners) or "none"
        where = f"load balancer {balancer.LoadBalancerName}"
        if chosen is None:
            wanted = f"port {port}" if port is not None else "HTTP:80 (or a single HTTP listener)"
            return None, f"{where} has no listener on {wanted}; its listeners: {have}"
        if chosen.Protocol != "HTTP":
            return None, f"{where}'s listener {chosen.Protocol}:{chosen.Port} is not plain HTTP, as the API port is"
        return chosen, ""


def _peeked_host(sock: socket.socket) -> str | None:
    """The Host of the first request, read without consuming anything (the API or the listener reads it)."""
    deadline = time.monotonic() + _HEAD_DEADLINE
    while True:
        try:
            head = sock.recv(_MAX_HEAD, socket.MSG_PEEK)
        except OSError:
            return None
        match = _HOST.search(head.split(b"\r\n\r\n", 1)[0] + b"\r\n")
        if match is not None:
            return match.group(1).strip().decode("latin-1").lower()
        if not head or b"\r\n\r\n" in head or len(head) >= _MAX_HEAD or time.monotonic() > deadline:
            return None
        time.sleep(0.001)  # (the head is still arriving: a peek would return the same bytes at once)


def _split(host: str) -> tuple[str, int | None]:
    """(load-balancer name, listener port or None) of a Host value: its own port (the API's) is dropped."""
    name = host.rsplit(":", 1)[0] if ":" in host and not host.endswith("]") else host
    first, _, rest = name.partition(".")
    if first.isdigit() and rest:
        return rest, int(first)
    return name, None


def _not_found(sock: socket.socket, reason: str) -> None:
    body = (reason + "\n").encode()
    try:
        sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (len(body), body))
    except OSError:
        pass
