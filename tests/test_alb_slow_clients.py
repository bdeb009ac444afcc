"""Clients that hold a listener's resources: a head trickled one byte at a time (Slowloris) meets the
header-read deadline and a 408, and a listener at its connection cap resets new connections while it keeps
serving those it has."""

from __future__ import annotations

import socket
import time

from tests.alb_support import address, alb, forward, listener, listener_url, target_group, wait_for
from tests.backends import HttpEcho


def test_a_head_trickled_byte_by_byte_gets_408_within_the_idle_timeout(elbv2, subnets, vpc_id, emulator_url):
    # "HTTP 408: Client did not send data before the idle timeout period expired" (Troubleshoot your
    # Application Load Balancers): each byte restarts the idle timer, so the head as a whole has a deadline.
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets, attributes={"idle_timeout.timeout_seconds": "1"})
        addr = address(listener_url(emulator_url, listener(elbv2, lb, forward(target_group(elbv2, vpc_id, "tg", [backend])))))
        with socket.create_connection(addr, timeout=5) as sock:
            sock.settimeout(0.2)  # one byte every 0.2 s, well inside the 1 s idle timeout
            head = b"GET /slow HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"x" * 100
            started, answer = time.monotonic(), b""
            for byte in head:
                try:
                    sock.send(bytes([byte]))
                    answer = sock.recv(65536)
                    break  # the LB answered (or closed) before the head was complete
                except TimeoutError:
                    continue
            assert answer.startswith(b"HTTP/1.1 408 ")
            assert time.monotonic() - started < 3
        assert "/slow" not in backend.paths


def _answered(addr: tuple[str, int], sock: socket.socket | None = None) -> bool:
    """True when a request on ``sock`` (or a new connection) is answered 200."""
    own = sock is None
    sock = sock or socket.create_connection(addr, timeout=5)
    try:
        sock.sendall(b"GET /cap HTTP/1.1\r\nHost: a\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:  # the whole response, so that the next one starts clean
            chunk = sock.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        while len(body) < length:
            body += sock.recv(65536)
        return head.startswith(b"HTTP/1.1 200 ")
    except OSError:
        return False
    finally:
        if own:
            sock.close()


def test_a_listener_at_its_connection_cap_resets_new_connections(elbv2, subnets, vpc_id, emulator_url, monkeypatch):
    monkeypatch.setenv("ELBV2_EMULATOR_MAX_CONNECTIONS", "5")  # read when the listener starts
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets)
        addr = address(listener_url(emulator_url, listener(elbv2, lb, forward(target_group(elbv2, vpc_id, "tg", [backend])))))
        held = [socket.create_connection(addr, timeout=5) for _ in range(5)]
        try:
            assert all(_answered(addr, sock) for sock in held)  # the five are admitted (each has been served)
            assert not _answered(addr)  # the sixth is reset
            assert all(_answered(addr, sock) for sock in held)  # the held ones still serve
            held.pop().close()
            wait_for(lambda: _answered(addr))  # below the cap again: new connections are served
        finally:
            for sock in held:
                sock.close()
