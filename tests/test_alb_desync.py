"""Desync mitigation modes (routing.http.desync_mitigation_mode) over raw sockets: what reaches the target,
the exact status, and whether the client connection survives."""

from __future__ import annotations

import json
import socket

import pytest

from tests.alb_support import address, alb, forward, listener, listener_url, target_group
from tests.backends import HttpEcho

COMPLIANT = b"GET /ok HTTP/1.1\r\nHost: app\r\n\r\n"
ACCEPTABLE = b"GET /zero HTTP/1.1\r\nHost: app\r\nContent-Length: 0\r\n\r\n"  # GetHeadZeroContentLength
AMBIGUOUS = b"GET /odd HTTP/1.1\r\nHost: app\r\nTransfer_Encoding: chunked\r\n\r\n"  # SuspiciousHeader
BOTH = (b"POST /both HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n")  # BothTeClPresent (Ambiguous)
NON_ASCII = b"GET /caf HTTP/1.1\r\nHost: app\r\nX-Name: caf\xc3\xa9\r\n\r\n"  # NonCompliantHeader (Acceptable)
# identity is a valid coding (Compliant, as http_desync_guardian has it) and no coding at all: no body here.
IDENTITY = b"POST /plain HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: identity\r\n\r\n"


def _listener(elbv2, subnets, vpc_id, emulator_url, backend: HttpEcho, mode: str) -> tuple[str, int]:
    lb = alb(elbv2, subnets, attributes={"routing.http.desync_mitigation_mode": mode})
    arn = listener(elbv2, lb, forward(target_group(elbv2, vpc_id, "tg", [backend])))
    return address(listener_url(emulator_url, arn))


def _exchange(addr: tuple[str, int], request: bytes) -> tuple[bytes, bool]:
    """(status line, whether the LB kept the connection open afterwards: a follow-up request is answered)."""
    with socket.create_connection(addr, timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        while len(rest) < length:
            rest += sock.recv(65536)
        try:
            sock.sendall(COMPLIANT)
            follow = sock.recv(65536)
        except (ConnectionError, OSError):
            follow = b""
        return head.split(b"\r\n")[0], follow.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("mode, expected", [
    ("monitor", {ACCEPTABLE: (200, True), AMBIGUOUS: (200, True), IDENTITY: (200, True)}),
    ("defensive", {ACCEPTABLE: (200, True), NON_ASCII: (200, True), AMBIGUOUS: (200, False), BOTH: (200, False), IDENTITY: (200, True)}),
    ("strictest", {ACCEPTABLE: (400, False), NON_ASCII: (400, False), AMBIGUOUS: (400, False), BOTH: (400, False), IDENTITY: (200, True)}),
])
def test_modes(elbv2, subnets, vpc_id, emulator_url, mode, expected):
    with HttpEcho() as backend:
        addr = _listener(elbv2, subnets, vpc_id, emulator_url, backend, mode)
        assert _exchange(addr, COMPLIANT) == (b"HTTP/1.1 200 OK", True)
        for request, (status, kept) in expected.items():
            before = backend.requests
            line, alive = _exchange(addr, request)
            assert int(line.split()[1]) == status, (mode, request)
            assert alive is kept, (mode, request)
            # Forwarded requests reached the target; refused ones did not.
            assert backend.requests - before == (1 if status == 200 else 0) + (1 if kept else 0), (mode, request)


def test_both_lengths_forwarded_chunked_without_content_length(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        addr = _listener(elbv2, subnets, vpc_id, emulator_url, backend, "defensive")
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(BOTH)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ") and b"connection: close" in head.lower()
        names = {k.lower() for k, _ in json.loads(body)["headers"]}
        assert "transfer-encoding" in names and "content-length" not in names  # Transfer-Encoding wins
