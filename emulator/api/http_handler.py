"""The API server's request handler: werkzeug's, but with HTTP/1.1 keep-alive and one write per response.

werkzeug's own ``run_wsgi`` answers every request with ``Connection: close`` and then polls the socket
until the client hangs up, so each SDK call would pay a new TCP connection and a new server thread; and it
writes the headers and the body separately, which Nagle's algorithm and the client's delayed ACK can hold
back. Here a request whose body has a known length is read into memory first, the app's answer is
buffered, and the status line, headers and body go out in one write on a ``TCP_NODELAY`` socket, leaving
the connection open for the SDK's next call. Anything else (chunked or ``100-continue`` uploads, bodies
over ``MAX_BUFFERED_BODY``) is served by werkzeug as before.
"""

from __future__ import annotations

import io
import logging
import socket
from typing import Any

from werkzeug.serving import WSGIRequestHandler

log = logging.getLogger("elbv2_emulator.api")

MAX_BUFFERED_BODY = 16 * 1024 * 1024
_NO_BODY_STATUSES = (204, 304)
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}


class KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # seconds an idle keep-alive connection (and its thread) may wait for the next request

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, *args: object, **kwargs: object) -> None:  # one line per API call is noise
        pass

    def run_wsgi(self) -> None:
        body = self._buffered_body()
        if body is None:
            super().run_wsgi()
            return
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        status, headers, content = self._call_app(environ)
        self._respond(status, headers, content)

    def _buffered_body(self) -> bytes | None:
        """The request body, or None when it is not one this handler buffers."""
        if self.headers.get("Transfer-Encoding") or self.headers.get("Expect", "").lower() == "100-continue":
            return None
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BUFFERED_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _call_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return written.append  # the legacy write() callable

        try:
            result = self.server.app(environ, start_response)
            try:
                written.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:  # the app answers its own errors; this is a bug in the app itself
            log.exception("unhandled error serving %s %s", self.command, self.path)
            self.close_connection = True
            return "500 Internal Server Error", [("Content-Type", "text/plain")], b"Internal Server Error"
        return started[0], started[1], b"".join(written)

    def _respond(self, status: str, headers: list[tuple[str, str]], content: bytes) -> None:
        code = int(status.split(None, 1)[0])
        no_body = self.command == "HEAD" or code in _NO_BODY_STATUSES or code < 200
        lines = [f"{self.protocol_version} {status}", f"Server: {self.version_string()}", f"Date: {self.date_time_string()}"]
        lines += [f"{name}: {value}" for name, value in headers if name.lower() not in _HOP_BY_HOP]
        if self.command == "HEAD":  # keep the length of the body a GET would have had
            lines += [f"{name}: {value}" for name, value in headers if name.lower() == "content-length"]
        elif not no_body:
            lines.append(f"Content-Length: {len(content)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if no_body else head + content)
