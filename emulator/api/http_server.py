"""The API's listening server: werkzeug's threaded WSGI server, made to survive descriptor exhaustion.

When the process runs out of file descriptors, ``accept()`` fails with EMFILE but the connection stays in
the listen queue, so socketserver's loop (which ignores the error) finds the socket readable again at
once and spins at 100% CPU while nobody is served. Here the server keeps one descriptor in reserve: on
EMFILE it gives the reserve up, accepts the waiting connection with it, answers AWS's ``ServiceUnavailable``
(HTTP 503, which the SDKs retry with backoff) and closes it, then takes the reserve back. Connections
already open keep being served by their own threads, and new ones are accepted again as soon as
descriptors free up. Without a reserve (another thread took the freed descriptor) the loop backs off
instead of spinning, as Go's net/http does (5 ms doubling to 1 s).
"""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
from typing import Any, Protocol

from werkzeug.serving import ThreadedWSGIServer

from emulator.api.elbv2 import error_reply
from emulator.api.front import WsgiApp
from emulator.api.http_handler import KeepAliveHandler
from emulator.errors import AwsError

_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE)
_OUT_OF_MEMORY = (errno.ENOBUFS, errno.ENOMEM)
_FIRST_BACKOFF, _LAST_BACKOFF = 0.005, 1.0
_REFUSAL_TIMEOUT = 0.1  # seconds the refusal may take to write; the client is not waited for
# AWS "Common Errors": ServiceUnavailable, "The request has failed due to a temporary failure of the server."
_UNAVAILABLE = "The request has failed due to a temporary failure of the server."


def _refusal() -> bytes:
    reply = error_reply(AwsError("ServiceUnavailable", _UNAVAILABLE, 503))
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/xml\r\n"
        f"x-amzn-RequestId: {reply.request_id}\r\nContent-Length: {len(reply.body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + reply.body


class ConnectionRouter(Protocol):
    def take(self, sock: socket.socket) -> bool: ...  # True: the connection is served elsewhere now


class ApiHttpServer(ThreadedWSGIServer):
    """``ApiHttpServer(host, port, app)``: the API endpoint, one thread per keep-alive connection."""

    def __init__(self, host: str, port: int, app: WsgiApp, router: ConnectionRouter | None = None) -> None:
        """``router``: offered every new connection before the API reads it (``host_routing.HostRouter``)."""
        super().__init__(host, port, app, KeepAliveHandler)
        self.router = router
        self._thread = threading.local()  # ``handed_over``: this connection thread's socket went to a listener
        self._reserve = _reserve_descriptor()
        self._backoff = _FIRST_BACKOFF

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            accepted = super().get_request()
        except OSError as error:
            if error.errno in _OUT_OF_DESCRIPTORS:
                self._refuse_one()
            elif error.errno in _OUT_OF_MEMORY:
                self._back_off()
            raise  # socketserver skips this round
        self._backoff = _FIRST_BACKOFF
        return accepted

    def finish_request(self, request: Any, client_address: Any) -> None:  # (on the connection's own thread)
        self._thread.handed_over = self.router is not None and self.router.take(request)
        if not self._thread.handed_over:
            super().finish_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        if getattr(self._thread, "handed_over", False):  # the listener has its own descriptor of the
            self._thread.handed_over = False  # connection: close ours without shutting the connection down
            self.close_request(request)
            return
        super().shutdown_request(request)

    def _refuse_one(self) -> None:
        """Accept the waiting connection with the reserve descriptor and answer it 503, or back off."""
        if self._reserve is None:
            self._reserve = _reserve_descriptor()
        if self._reserve is None:
            self._back_off()
            return
        os.close(self._reserve)
        self._reserve = None
        try:
            self.socket.settimeout(0)  # the connection may have gone since select() saw it: never block here
            connection, _ = self.socket.accept()
        except OSError:
            connection = None
        finally:
            self.socket.settimeout(None)
        if connection is not None:
            _answer_and_close(connection, _refusal())
        self._reserve = _reserve_descriptor()

    def _back_off(self) -> None:
        time.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, _LAST_BACKOFF)


def _reserve_descriptor() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY)
    except OSError:
        return None


def _answer_and_close(connection: socket.socket, answer: bytes) -> None:
    """Best effort: write ``answer``, then drain what the client already sent, so closing does not reset
    the connection (a close with unread data sends RST, which can destroy the answer in flight)."""
    with connection:
        try:
            connection.settimeout(_REFUSAL_TIMEOUT)
            connection.sendall(answer)
            connection.shutdown(socket.SHUT_WR)
            connection.setblocking(False)  # only what has arrived: the accept loop never waits on a client
            connection.recv(64 * 1024)
        except OSError:
            pass
