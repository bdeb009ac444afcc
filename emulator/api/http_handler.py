"""The API server's request handler: werkzeug's, but with HTTP/1.1 keep-alive and one write per response.

werkzeug's own ``run_wsgi`` answers every request with ``Connection: close`` and then polls the socket
until the client hangs up, so each SDK call would pay a new TCP connection and a new server thread; and it
writes the headers and the body separately, which Nagle's algorithm and the client's delayed ACK can hold
back. Here every request's body is read into memory first (framing checked and size capped by
``request_body``), the app's answer is buffered, and the status line, headers and body go out in one
write on a ``TCP_NODELAY`` socket, leaving the connection open for the SDK's next call.

Whatever arrives, the client gets an answer: broken HTTP a plain-text 400 (or 501 for an unknown
transfer coding), a body over the cap AWS-style XML with HTTP 413, a bug in the app AWS's InternalFailure
XML; never werkzeug's HTML error page or a silent close.
"""

from __future__ import annotations

import io
import socket
from http import HTTPStatus
from typing import Any

from werkzeug.serving import WSGIRequestHandler

from emulator import protocol
from emulator.api.elbv2 import Reply, error_reply, internal_failure
from emulator.api.request_body import MAX_REQUEST_BODY, BodyTooLarge, BrokenFraming, ClientGone, read_body
from emulator.errors import AwsError

_NO_BODY_STATUSES = (204, 304)
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}


class KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # seconds an idle keep-alive connection (and its thread) may wait for the next request
    # http.server's own answers to a broken request line or header block: plain text, not its HTML page.
    error_message_format = "%(code)d %(message)s: %(explain)s\n"
    error_content_type = "text/plain; charset=utf-8"
    # Until a request line has been parsed, http.server takes the client for HTTP/0.9 and would answer a
    # broken one without a status line; AWS speaks no HTTP/0.9 either.
    default_request_version = "HTTP/1.0"

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if self.request_version == "HTTP/0.9":  # e.g. "GE T / HTTP/0.9": answer with a status line anyway
            self.request_version = "HTTP/1.0"
        super().send_error(code, message, explain)

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, *args: object, **kwargs: object) -> None:  # one line per API call is noise
        pass

    def run_wsgi(self) -> None:
        try:
            body, must_close = read_body(self.headers, self.rfile, self.request_version, self._send_continue)
        except BrokenFraming as broken:
            self._refuse(broken.status, str(broken))
            return
        except BodyTooLarge:
            self.close_connection = True  # the rest of the body is never read
            message = f"Request body is larger than the maximum of {MAX_REQUEST_BODY} bytes."
            self._respond_error(AwsError("RequestEntityTooLarge", message, 413))
            return
        except (ClientGone, ConnectionError, TimeoutError):
            self.close_connection = True
            return
        self.close_connection = self.close_connection or must_close
        try:
            environ = self.make_environ()
        except ValueError as error:  # a request target urlsplit() refuses, e.g. "http://[::1"
            self._refuse(400, f"invalid request target: {error}")
            return
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("wsgi.input_terminated", None)
        status, headers, content = self._call_app(environ)
        self._respond(status, headers, content)

    def handle_expect_100(self) -> bool:
        """http.server would send ``100 Continue`` while parsing the head; ``read_body`` sends it only once
        the body's framing and size are acceptable, so a refused upload is never invited."""
        return True

    def _send_continue(self) -> None:
        self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _refuse(self, status: int, reason: str) -> None:
        """Broken HTTP: a plain-text answer, then the connection closes (its framing can no longer be trusted)."""
        self.close_connection = True
        phrase = HTTPStatus(status).phrase
        self._respond(f"{status} {phrase}", [("Content-Type", "text/plain; charset=utf-8")], f"{phrase}: {reason}\n".encode())

    def _respond_error(self, error: AwsError) -> None:
        reply = error_reply(error)
        self._respond(f"{reply.status} {HTTPStatus(reply.status).phrase}", _xml_headers(reply), reply.body)

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
            self.close_connection = True
            reply = internal_failure(f"{self.command} {self.path}")
            return f"{reply.status} {HTTPStatus(reply.status).phrase}", _xml_headers(reply), reply.body
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
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")  # moto may echo any header text
        self.wfile.write(head if no_body else head + content)


def _xml_headers(reply: Reply) -> list[tuple[str, str]]:
    return [("Content-Type", protocol.XML_CONTENT_TYPE), ("x-amzn-RequestId", reply.request_id)]
