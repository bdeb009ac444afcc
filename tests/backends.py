"""Real backend servers on 127.0.0.1 for data-plane tests: they receive load-balanced traffic.

Each runs on its own thread and port; use them as context managers. ``HttpEcho`` answers every request
with JSON describing what it received (so tests can assert on forwarded headers) and can be switched
to answer another status, to stall (for timeouts) or to stop listening (for refused connections).
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body are separate writes: Nagle + delayed ACK would add 40 ms
    server: _EchoHTTPServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        backend = self.server.backend
        backend.requests += 1
        backend.paths.append(self.path)
        if backend.delay:
            time.sleep(backend.delay)
        payload = json.dumps(
            {
                "backend": backend.name,
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body_length": len(body),
                "client": self.client_address[0],
            }
        ).encode()
        self.send_response(backend.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in backend.extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    def log_message(self, *args: Any) -> None:
        pass


class _EchoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 makes a burst of target connections wait for SYN retransmits.
    request_queue_size = 256
    backend: HttpEcho


class HttpEcho:
    """An HTTP/1.1 echo backend. ``status``, ``delay`` and ``extra_headers`` may be changed at any time."""

    def __init__(self, name: str = "backend", host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name
        self.status = 200
        self.delay = 0.0
        self.extra_headers: dict[str, str] = {}
        self.requests = 0
        self.paths: list[str] = []  # every request's path, in arrival order
        self._server = _EchoHTTPServer((host, port), _EchoHandler)
        self._server.backend = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return self._server.server_address[0]

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def __enter__(self) -> HttpEcho:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop accepting: new connections to the port are refused from now on."""
        self._server.shutdown()
        self._server.server_close()


class _TcpEchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        backend: TcpEcho = self.server.backend  # type: ignore[attr-defined]
        backend.connections += 1
        try:
            if backend.greeting:
                self.request.sendall(backend.greeting)
            while data := self.request.recv(65536):
                self.request.sendall(data)
            self.request.shutdown(socket.SHUT_WR)  # pass the client's half-close back
        except OSError:
            pass  # reset by the peer (health checks, tests of resets): nothing left to echo


class _ThreadingTcp(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class TcpEcho:
    """Echoes every byte back; ``greeting`` is sent first on each connection (e.g. its name)."""

    def __init__(self, greeting: bytes = b"", host: str = "127.0.0.1") -> None:
        self.greeting = greeting
        self.connections = 0
        self._server = _ThreadingTcp((host, 0), _TcpEchoHandler)
        self._server.backend = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def __enter__(self) -> TcpEcho:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class UdpEcho:
    """Answers each datagram with ``prefix + datagram``."""

    def __init__(self, prefix: bytes = b"", host: str = "127.0.0.1") -> None:
        self.prefix = prefix
        self.datagrams = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, 0))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._running = True

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def _serve(self) -> None:
        while self._running:
            try:
                data, peer = self._sock.recvfrom(65536)
            except OSError:
                return
            self.datagrams += 1
            self._sock.sendto(self.prefix + data, peer)

    def __enter__(self) -> UdpEcho:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._running = False
        self._sock.close()


class ThreadedTcpBackend:
    """A raw TCP server on 127.0.0.1 that runs ``handle(conn)`` on a thread per connection; subclass it.

    Subclasses set their own attributes before calling ``super().__init__()``: connections may arrive at once.
    """

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._server.close()
