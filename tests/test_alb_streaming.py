"""Bodies and connections through the ALB: chunked streaming both ways, pipelining, 100-continue, WebSocket."""

from __future__ import annotations

import base64
import hashlib
import socket

import requests

from tests.alb_support import (
    RawBackend,
    address,
    alb,
    forward,
    listener,
    listener_url,
    read_chunked,
    read_head,
    target_group,
)
from tests.backends import HttpEcho

MB = 1024 * 1024


def _streaming_backend(sock: socket.socket) -> None:
    """POST: answers the sha256 and length of the (chunked) body; GET /stream/N: N MiB in 64 KiB chunks."""
    while True:
        try:
            head, rest = read_head(sock)
        except ConnectionError:
            return
        if head.startswith(b"POST"):
            if b"chunked" in head.lower():
                body = read_chunked(sock, rest)
            else:
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                body = bytearray(rest)
                while len(body) < length:
                    body += sock.recv(65536)
            answer = f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode()
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))
        else:
            size = int(head.split(b" ")[1].rsplit(b"/", 1)[1])
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            block = b"z" * 65536
            for _ in range(size * 16):
                sock.sendall(b"10000\r\n" + block + b"\r\n")
            sock.sendall(b"0\r\n\r\n")


def _url(elbv2, subnets, vpc_id, emulator_url, backend, health=None) -> str:
    lb = alb(elbv2, subnets)
    return listener_url(emulator_url, listener(elbv2, lb, forward(target_group(elbv2, vpc_id, "tg", [backend], health=health))))


def test_large_bodies_stream_chunked_both_ways(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("health") as health, RawBackend(_streaming_backend) as backend:
        url = _url(elbv2, subnets, vpc_id, emulator_url, backend, health)
        session = requests.Session()
        parts = [bytes([i % 251]) * 100_000 for i in range(100)]  # 10 MB, sent chunked
        answer = session.post(url, data=iter(parts), timeout=30).text
        body = b"".join(parts)
        assert answer == f"{len(body)} {hashlib.sha256(body).hexdigest()}"
        response = session.get(f"{url}/stream/8", stream=True, timeout=30)
        assert response.headers["transfer-encoding"] == "chunked"
        assert sum(len(chunk) for chunk in response.iter_content(65536)) == 8 * MB
        fixed = session.post(url, data=b"q" * (3 * MB), timeout=30).text  # Content-Length body
        assert fixed.startswith(f"{3 * MB} ")


def test_pipelined_requests_are_answered_in_order(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        addr = address(_url(elbv2, subnets, vpc_id, emulator_url, backend))
        requests_ = b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5))
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(requests_ + b"POST /5 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        paths = [part.split(b'"path": "')[1].split(b'"')[0] for part in data.split(b"HTTP/1.1 200 OK")[1:]]
        assert paths == [b"/0", b"/1", b"/2", b"/3", b"/4", b"/5"]


def test_expect_100_continue(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        addr = address(_url(elbv2, subnets, vpc_id, emulator_url, backend))
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(b"PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
                         b"Connection: close\r\n\r\n")
            assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
            sock.sendall(b"hello")
            response = b""
            while chunk := sock.recv(65536):
                response += chunk
        assert response.startswith(b"HTTP/1.1 200 ") and b'"body_length": 5' in response


def _websocket_echo(sock: socket.socket) -> None:
    """A WebSocket handshake, then every byte echoed (frames are opaque to the load balancer)."""
    head, rest = read_head(sock)
    key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n") if line.lower().startswith(b"sec-websocket-key"))
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + rest)
    while data := sock.recv(65536):
        sock.sendall(data)


def test_websocket_upgrade_tunnels_both_ways(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("health") as health, RawBackend(_websocket_echo) as backend:
        addr = address(_url(elbv2, subnets, vpc_id, emulator_url, backend, health))
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(65536)
            assert head.startswith(b"HTTP/1.1 101 ")
            assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
            for message in (b"\x81\x05hello", b"x" * 200_000):
                sock.sendall(message)
                echoed = b""
                while len(echoed) < len(message):
                    echoed += sock.recv(65536)
                assert echoed == message
