"""No request reaches a target without going through the listener's rules, and no response reaches the wrong
client: pipelined bytes after a declined upgrade, ``Transfer-Encoding: identity`` bodies, and target
connections that are not clean enough to be pooled (over raw sockets, with targets that misbehave on purpose).
"""

from __future__ import annotations

import json
import socket
import threading

import pytest

from tests.alb_support import RawBackend, address, alb, forward, listener, listener_url, read_head, target_group
from tests.backends import HttpEcho

UPGRADE = b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
ADMIN = b"GET /admin HTTP/1.1\r\nHost: a\r\n\r\n"
DENIED = b"denied by rule"


def _deny_admin(elbv2, listener_arn: str) -> None:
    elbv2.create_rule(ListenerArn=listener_arn, Priority=1,
                      Conditions=[{"Field": "path-pattern", "Values": ["/admin*"]}],
                      Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
                          "StatusCode": "403", "ContentType": "text/plain", "MessageBody": DENIED.decode()}}])


def _guarded(elbv2, subnets, vpc_id, emulator_url, backend, health, mode: str = "defensive") -> tuple[str, int]:
    """An ALB forwarding to ``backend`` whose /admin rule answers 403 (health checks go to ``health``)."""
    lb = alb(elbv2, subnets, attributes={"routing.http.desync_mitigation_mode": mode})
    arn = listener(elbv2, lb, forward(target_group(elbv2, vpc_id, "tg", [backend], health=health)))
    _deny_admin(elbv2, arn)
    return address(listener_url(emulator_url, arn))


class Responses:
    """Reads HTTP/1.1 responses with a Content-Length, one after another, from one client socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def next(self) -> tuple[int, bytes, bytes]:
        """(status, head, body); raises ConnectionError when the LB closed the connection instead."""
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
        while len(self.buffer) < length:
            self._read()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(head.split()[1]), head, body

    def closed(self) -> bool:
        try:
            return self.sock.recv(65536) == b"" and not self.buffer
        except ConnectionResetError:
            return True

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the load balancer")
        self.buffer += chunk


def _echoed_path(body: bytes) -> str:
    return json.loads(body)["path"]


def test_request_pipelined_after_a_declined_upgrade_goes_through_the_rules(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("health") as health, HttpEcho() as backend:  # HttpEcho declines upgrades: a plain 200
        addr = _guarded(elbv2, subnets, vpc_id, emulator_url, backend, health)
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(UPGRADE + ADMIN)
            responses = Responses(sock)
            status, _, body = responses.next()
            assert (status, _echoed_path(body)) == (200, "/x")
            assert responses.next()[::2] == (403, DENIED)  # the rule saw /admin: the target never did
        assert backend.paths == ["/x"]


def test_pipelined_requests_each_go_through_the_rules(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("health") as health, HttpEcho() as backend:
        addr = _guarded(elbv2, subnets, vpc_id, emulator_url, backend, health)
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n" + ADMIN + b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
            responses = Responses(sock)
            assert _echoed_path(responses.next()[2]) == "/a"
            assert responses.next()[::2] == (403, DENIED)
            assert _echoed_path(responses.next()[2]) == "/b"
        assert backend.paths == ["/a", "/b"]


def test_many_concurrent_clients_each_get_their_own_responses(elbv2, subnets, vpc_id, emulator_url):
    """Declined upgrades with pipelined requests, and plain keep-alive clients, all at once over a shared pool
    of target connections: every response names the path its own client asked for."""
    with HttpEcho("health") as health, HttpEcho() as backend:
        addr = _guarded(elbv2, subnets, vpc_id, emulator_url, backend, health)
        wrong: list[str] = []

        def client(i: int) -> None:
            with socket.create_connection(addr, timeout=10) as sock:
                responses = Responses(sock)
                for round_ in range(3):
                    mine = f"/c{i}-{round_}".encode()
                    if i % 2:
                        sock.sendall(b"GET %s/up HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
                                     b"GET /admin/%d HTTP/1.1\r\nHost: a\r\n\r\nGET %s/next HTTP/1.1\r\nHost: a\r\n\r\n"
                                     % (mine, i, mine))
                        expected = [mine.decode() + "/up", DENIED, mine.decode() + "/next"]
                    else:
                        sock.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % mine)
                        expected = [mine.decode()]
                    for want in expected:
                        status, _, body = responses.next()
                        got = body if status == 403 else _echoed_path(body)
                        if got != want:
                            wrong.append(f"client {i} wanted {want!r}, got {got!r}")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert wrong == []
        assert not [p for p in backend.paths if p.startswith("/admin")]


def _websocket_accepting(received_with_head: list[bytes]):
    def serve(sock: socket.socket) -> None:
        head, rest = read_head(sock)
        received_with_head.append(rest)  # the LB must not send anything past the head before the 101
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        while data := sock.recv(65536):
            sock.sendall(data)
    return serve


def test_bytes_sent_with_an_upgrade_reach_the_target_only_after_its_101(elbv2, subnets, vpc_id, emulator_url):
    early: list[bytes] = []
    with HttpEcho("health") as health, RawBackend(_websocket_accepting(early)) as backend:
        lb = alb(elbv2, subnets)
        addr = address(listener_url(emulator_url, listener(elbv2, lb, forward(
            target_group(elbv2, vpc_id, "tg", [backend], health=health)))))
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(UPGRADE + b"\x81\x05hello")
            data = b""
            while not data.endswith(b"\x81\x05hello"):
                data += sock.recv(65536)
            assert data.startswith(b"HTTP/1.1 101 ")
        assert early == [b""]


def _counting(serve_connection):
    """A RawBackend handler that numbers its connections (1, 2, ...) and passes the number on."""
    count = [0]
    lock = threading.Lock()

    def serve(sock: socket.socket) -> None:
        with lock:
            count[0] += 1
            number = count[0]
        serve_connection(sock, number)
    return serve, count


def _requests_then_answer(sock: socket.socket, first_answer: bytes, number: int) -> None:
    answer = first_answer
    while True:
        try:
            read_head(sock)
        except (ConnectionError, OSError):
            return
        sock.sendall(answer.replace(b"#", str(number).encode()))
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nreused#"


def test_a_target_connection_with_bytes_after_the_response_is_not_reused(elbv2, subnets, vpc_id, emulator_url):
    extra = (b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfirst#"
             b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nstolen")  # a second response nobody asked for
    serve, connections = _counting(lambda sock, n: _requests_then_answer(sock, extra, n))
    with HttpEcho("health") as health, RawBackend(serve) as backend:
        lb = alb(elbv2, subnets)
        addr = address(listener_url(emulator_url, listener(elbv2, lb, forward(
            target_group(elbv2, vpc_id, "tg", [backend], health=health)))))
        for number in (1, 2):
            with socket.create_connection(addr, timeout=5) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                assert Responses(sock).next()[2] == b"first%d" % number
        assert connections[0] == 2


def test_a_target_that_answers_before_the_request_body_ends_is_not_reused(elbv2, subnets, vpc_id, emulator_url):
    early = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nearly#"  # keep-alive, with the body still unread
    serve, connections = _counting(lambda sock, n: _requests_then_answer(sock, early, n))
    with HttpEcho("health") as health, RawBackend(serve) as backend:
        lb = alb(elbv2, subnets)
        addr = address(listener_url(emulator_url, listener(elbv2, lb, forward(
            target_group(elbv2, vpc_id, "tg", [backend], health=health)))))
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhalf.")
            assert Responses(sock).next()[2] == b"early1"
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
            assert Responses(sock).next()[2] == b"early2"  # a new target connection, not the half-written one
        assert connections[0] == 2


def test_a_101_to_a_request_that_did_not_ask_to_upgrade_is_a_502(elbv2, subnets, vpc_id, emulator_url):
    def serve(sock: socket.socket) -> None:
        read_head(sock)
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        while sock.recv(65536):
            pass

    with HttpEcho("health") as health, RawBackend(serve) as backend:
        lb = alb(elbv2, subnets)
        addr = address(listener_url(emulator_url, listener(elbv2, lb, forward(
            target_group(elbv2, vpc_id, "tg", [backend], health=health)))))
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" + ADMIN)
            responses = Responses(sock)
            assert responses.next()[0] == 502
            assert responses.closed()


# "HTTP 501: ... The supported values for Transfer-Encoding are chunked and identity" (Troubleshoot your
# Application Load Balancers): identity is no coding, so Content-Length frames the body in every mode.
@pytest.mark.parametrize("mode", ["monitor", "defensive", "strictest"])
def test_transfer_encoding_identity_is_framed_by_content_length(elbv2, subnets, vpc_id, emulator_url, mode):
    with HttpEcho("health") as health, HttpEcho() as backend:
        addr = _guarded(elbv2, subnets, vpc_id, emulator_url, backend, health, mode)
        with socket.create_connection(addr, timeout=5) as sock:  # identity alone: Compliant, no body
            sock.sendall(b"POST /bare HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n" + ADMIN)
            responses = Responses(sock)
            status, _, body = responses.next()
            assert (status, json.loads(body)["body_length"]) == (200, 0)
            assert responses.next()[::2] == (403, DENIED)
        with socket.create_connection(addr, timeout=5) as sock:  # with Content-Length: BothTeClPresent, Ambiguous
            sock.sendall(b"POST /sized HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\n"
                         b"abcde" + ADMIN)
            responses = Responses(sock)
            status, _, body = responses.next()
            if mode == "strictest":
                assert status == 400
            else:
                assert (status, json.loads(body)["body_length"]) == (200, 5)
                if mode == "monitor":
                    assert responses.next()[::2] == (403, DENIED)
                else:  # defensive: forwarded, then the connection closes
                    assert responses.closed()
        assert not [p for p in backend.paths if p.startswith("/admin")]
