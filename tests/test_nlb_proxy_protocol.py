"""PROXY protocol v2 on NLB target groups (``proxy_protocol_v2.enabled``; NLB guide "Proxy protocol").

The header is prepended to the stream (to each datagram for UDP), carrying the client's address and port
and the load balancer's address and listener port; the client's bytes follow untouched. It is parsed here
with the independent ``proxy-protocol`` package.
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address

from proxyprotocol.v2 import ProxyProtocolV2

from tests.backends import TcpEcho, ThreadedTcpBackend
from tests.nlb_support import connect, listener, listener_address, nlb, target_group, wait_for, wait_healthy

PPV2 = {"proxy_protocol_v2.enabled": "true"}


class _Capture(ThreadedTcpBackend):
    """A TCP backend recording everything each connection sends (until the client's EOF)."""

    def __init__(self) -> None:
        self.streams: list[bytes] = []
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        chunks = []
        with conn:
            try:
                while data := conn.recv(65536):
                    chunks.append(data)
            except OSError:
                pass
        if chunks:
            self.streams.append(b"".join(chunks))


def _parse(data: bytes) -> tuple:
    length = 16 + int.from_bytes(data[14:16], "big")
    result = ProxyProtocolV2().unpack(data[:length])
    return result, data[length:]


def test_tcp_header_carries_client_and_listener_addresses(emulator_url, elbv2, vpc_id, subnets):
    capture = _Capture()
    try:
        with TcpEcho() as health:
            tg = target_group(elbv2, vpc_id, "ppv2", ports=[capture.port], attributes=PPV2,
                              HealthCheckPort=str(health.port))
            address = listener_address(emulator_url, listener(elbv2, nlb(elbv2, subnets), tg))
            with connect(address) as sock:
                client = sock.getsockname()
                sock.sendall(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nhello")  # a client's own PROXY line: untouched
                sock.shutdown(socket.SHUT_WR)
                wait_for(lambda: capture.streams)
    finally:
        capture.close()
    result, payload = _parse(capture.streams[0])
    assert capture.streams[0][12:14] == b"\x21\x11"  # v2 PROXY, TCP over IPv4
    assert result.source == (IPv4Address(client[0]), client[1])
    assert result.dest == (IPv4Address(address[0]), address[1])
    assert result.protocol == socket.SOCK_STREAM
    assert payload == b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nhello"


def test_udp_header_on_every_datagram(emulator_url, elbv2, vpc_id, subnets):
    backend = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    backend.bind(("127.0.0.1", 0))
    backend.settimeout(5)
    try:
        with TcpEcho() as health:
            tg = target_group(elbv2, vpc_id, "ppv2-udp", protocol="UDP", ports=[backend.getsockname()[1]],
                              attributes=PPV2, HealthCheckProtocol="TCP", HealthCheckPort=str(health.port))
            arn = listener(elbv2, nlb(elbv2, subnets), tg, protocol="UDP", port=7056)
            wait_healthy(elbv2, tg)
            address = listener_address(emulator_url, arn)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.bind(("127.0.0.1", 0))
                for payload in (b"one", b"two"):
                    client.sendto(payload, address)
                    data, _ = backend.recvfrom(65536)
                    result, body = _parse(data)
                    assert data[12:14] == b"\x21\x12"  # v2 PROXY, UDP over IPv4
                    assert result.source == (IPv4Address("127.0.0.1"), client.getsockname()[1])
                    assert result.dest == (IPv4Address(address[0]), address[1])
                    assert body == payload
    finally:
        backend.close()
