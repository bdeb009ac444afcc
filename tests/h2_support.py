"""Helpers for the HTTP/2 and gRPC tests: an HTTPS listener with an ACM-imported trustme certificate, a real
HTTP/2 echo target (``H2Echo``: prior-knowledge h2c, or TLS with ALPN h2) and a raw ``h2`` client over TLS
for what httpx does not expose (SETTINGS, GOAWAY)."""

from __future__ import annotations

import json
import socket
import socketserver
import ssl
import threading
from typing import Any

import h2.config
import h2.connection
import h2.events
import trustme

from tests.alb_support import address, listener, listener_url
from tests.alb_tls_support import import_certificate

HOST = "app.example.com"


def https_listener(elbv2: Any, acm: Any, emulator_url: str, ca: trustme.CA, lb: str, actions: list[dict]) -> tuple[str, tuple[str, int]]:
    """(listener ARN, address) of a new HTTPS listener with a certificate for ``HOST``."""
    cert = import_certificate(acm, ca, HOST)
    arn = listener(elbv2, lb, actions, protocol="HTTPS", Certificates=[{"CertificateArn": cert}])
    return arn, address(listener_url(emulator_url, arn))


def client_context(ca: trustme.CA, alpn: tuple[str, ...] = ("h2", "http/1.1")) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.check_hostname = False  # the listener's address is an IP; the certificate names HOST
    context.set_alpn_protocols(list(alpn))
    return context


class H2Client:
    """A blocking HTTP/2 client on one TLS connection (raw ``h2``): enough to read SETTINGS and GOAWAY."""

    def __init__(self, addr: tuple[str, int], ca: trustme.CA) -> None:
        self.sock = client_context(ca).wrap_socket(socket.create_connection(addr, timeout=5), server_hostname=HOST)
        assert self.sock.selected_alpn_protocol() == "h2"
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        self.h2.initiate_connection()
        self.sock.sendall(self.h2.data_to_send())
        self.goaway: h2.events.ConnectionTerminated | None = None
        self.settings: dict[int, int] = {}

    def request(self, path: str, method: str = "GET") -> int:
        stream_id = self.h2.get_next_available_stream_id()
        self.h2.send_headers(stream_id, [(b":method", method.encode()), (b":scheme", b"https"),
                                         (b":path", path.encode()), (b":authority", HOST.encode())], end_stream=True)
        self.sock.sendall(self.h2.data_to_send())
        return stream_id

    def read(self, stream_ids: set[int]) -> dict[int, int]:
        """Read until every stream in ``stream_ids`` ended (or the connection closes); their statuses."""
        statuses: dict[int, int] = {}
        ended: set[int] = set()
        while not stream_ids <= ended:
            data = self.sock.recv(65536)
            if not data:
                break
            for event in self.h2.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    statuses[event.stream_id] = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    ended.add(event.stream_id)
                elif isinstance(event, h2.events.RemoteSettingsChanged):
                    self.settings.update({k: v.new_value for k, v in event.changed_settings.items()})
                elif isinstance(event, h2.events.ConnectionTerminated):
                    self.goaway = event
            self.sock.sendall(self.h2.data_to_send())
        return statuses

    def close(self) -> None:
        self.sock.close()


class _H2Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.serve(self.request)  # type: ignore[attr-defined]


class H2Echo(socketserver.ThreadingTCPServer):
    """An HTTP/2 target answering every stream with JSON: method, path, headers, body length, protocol.
    With ``tls`` (a trustme leaf certificate) it speaks TLS and selects ALPN h2."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls: trustme.LeafCert | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _H2Handler)
        self.host, self.port = "127.0.0.1", self.server_address[1]
        self.context: ssl.SSLContext | None = None
        self.connections = 0
        if tls is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.configure_cert(self.context)
            self.context.set_alpn_protocols(["h2"])

    def __enter__(self) -> H2Echo:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def serve(self, sock: socket.socket) -> None:
        self.connections += 1
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        requests: dict[int, dict] = {}
        while data := sock.recv(65536):
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    headers = [(k.decode(), v.decode()) for k, v in event.headers]
                    requests[event.stream_id] = {"headers": headers, "body_length": 0,
                                                 "protocol": "h2-tls" if self.context else "h2c"}
                elif isinstance(event, h2.events.DataReceived):
                    requests[event.stream_id]["body_length"] += len(event.data)
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    body = json.dumps(requests.pop(event.stream_id)).encode()
                    conn.send_headers(event.stream_id, [(b":status", b"200"), (b"content-type", b"application/json"),
                                                        (b"content-length", str(len(body)).encode())])
                    conn.send_data(event.stream_id, body, end_stream=True)
            sock.sendall(conn.data_to_send())
