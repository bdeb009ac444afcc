"""Helpers for HTTPS-listener tests: ACM-imported trustme certificates and raw HTTPS exchanges (optionally
with a client certificate), parsed just enough to assert exact status lines and headers."""

from __future__ import annotations

import json
import socket
import ssl
from typing import Any

import trustme


def import_certificate(acm: Any, ca: trustme.CA, name: str = "app.example.com") -> str:
    cert = ca.issue_cert(name, common_name=name)  # moto ACM needs a subject CN
    return acm.import_certificate(Certificate=cert.cert_chain_pems[0].bytes(), PrivateKey=cert.private_key_pem.bytes(),
                                  CertificateChain=ca.cert_pem.bytes())["CertificateArn"]


class Response:
    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def header_names(self) -> list[str]:
        return [k for k, _ in self.headers]

    def echoed(self) -> dict[str, str]:
        """The request headers an HttpEcho target saw (lower-case names)."""
        return {k.lower(): v for k, v in json.loads(self.body)["headers"]}


def https_request(addr: tuple[str, int], ca: trustme.CA, path: str = "/", headers: dict[str, str] | None = None,
                  client: trustme.LeafCert | None = None, host: str = "app.example.com") -> Response:
    """One HTTP/1.1 request over TLS with ``Connection: close``; the whole response."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.check_hostname = False
    if client is not None:
        client.configure_cert(context)
    lines = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{lines}Connection: close\r\n\r\n".encode()
    with socket.create_connection(addr, timeout=5) as raw_sock:
        with context.wrap_socket(raw_sock, server_hostname=host) as sock:
            sock.sendall(request)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    if not data:  # TLS 1.3: a refused client certificate surfaces after the client's side of the handshake
        raise ConnectionError("the listener closed the connection without a response")
    return Response(data)
