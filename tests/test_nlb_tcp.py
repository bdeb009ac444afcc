"""NLB TCP listeners carry real connections (AWS "User Guide for Network Load Balancers").

Each test builds the NLB through boto3, then sends traffic through the listener's bound address to real
backends on 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter

import pytest

from emulator.dataplane.nlb.route import TCP_IDLE_SCALE_ENV
from tests.alb_support import wait_for
from tests.backends import TcpEcho, ThreadedTcpBackend
from tests.nlb_support import (
    connect,
    listener,
    listener_address,
    nlb,
    recv_all,
    recv_exactly,
    target_group,
    wait_healthy,
)


def _greeting_of(address: tuple[str, int], payload: bytes = b"ping") -> bytes:
    """Open a connection, send ``payload``, half-close, return everything the target sent back."""
    with connect(address) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        data = recv_all(sock)
    assert data.endswith(payload)
    return data[: -len(payload)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect_expecting_reset(address: tuple[str, int]) -> None:
    """The listener accepts, then resets (the RST may even beat ``connect`` returning)."""
    with pytest.raises(ConnectionResetError):
        with connect(address) as sock:
            while sock.recv(65536):
                pass


def _assert_reset(sock: socket.socket) -> None:
    """The peer reset the connection (an NLB answers with RST, not FIN)."""
    with pytest.raises(ConnectionResetError):
        while sock.recv(65536):
            pass


@pytest.fixture
def lb(elbv2, subnets) -> str:
    return nlb(elbv2, subnets)


def test_connections_spread_over_targets_and_keep_their_target(emulator_url, elbv2, vpc_id, lb):
    with TcpEcho(b"A") as a, TcpEcho(b"B") as b, TcpEcho(b"C") as c:
        tg = target_group(elbv2, vpc_id, "tcp", ports=[a.port, b.port, c.port])
        address = listener_address(emulator_url, listener(elbv2, lb, tg))
        seen = Counter(_greeting_of(address, b"x" * 1000) for _ in range(60))
    assert set(seen) == {b"A", b"B", b"C"}, seen  # the flow hash spreads connections over every target
    assert min(seen.values()) >= 5, seen


def test_source_ip_stickiness_pins_a_client_to_one_target(emulator_url, elbv2, vpc_id, lb):
    with TcpEcho(b"A") as a, TcpEcho(b"B") as b, TcpEcho(b"C") as c:
        tg = target_group(elbv2, vpc_id, "sticky", ports=[a.port, b.port, c.port],
                          attributes={"stickiness.enabled": "true", "stickiness.type": "source_ip"})
        address = listener_address(emulator_url, listener(elbv2, lb, tg))
        seen = {_greeting_of(address) for _ in range(30)}
    assert len(seen) == 1, seen


def test_half_close_is_passed_through_both_ways(emulator_url, elbv2, vpc_id, lb):
    with TcpEcho() as echo:
        tg = target_group(elbv2, vpc_id, "half", ports=[echo.port])
        address = listener_address(emulator_url, listener(elbv2, lb, tg))
        payload = bytes(range(256)) * 8192  # 2 MiB: more than any buffer, so it is still flowing at EOF
        with connect(address) as sock:
            sender = threading.Thread(target=lambda: (sock.sendall(payload), sock.shutdown(socket.SHUT_WR)))
            sender.start()
            echoed = recv_all(sock)  # the target's EOF arrives only after it saw ours: both halves passed
            sender.join()
    assert echoed == payload


class _StalledReader(ThreadedTcpBackend):
    """Reads nothing until ``release``; then counts every byte of every connection (health checks too)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.received = 0
        self._done = threading.Event()
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        self.release.wait(30)
        received = 0
        with conn:
            try:
                while data := conn.recv(1 << 20):
                    received += len(data)
            except OSError:
                return
        if received:  # the proxied connection (health-check connections carry nothing)
            self.received = received
            self._done.set()

    def join(self) -> None:
        self._done.wait(10)
        self.close()


def _runtime(emulator_server, listener_arn: str):
    """The running listener runtime, to read its buffer sizes (observation only)."""
    return emulator_server.dataplane._running[listener_arn].runtime


def _buffer_max(name: str) -> int:
    """The most a TCP socket buffer may autotune to on this machine (net.ipv4.tcp_rmem / tcp_wmem)."""
    with open(f"/proc/sys/net/ipv4/{name}") as values:
        return int(values.read().split()[2])


def test_slow_reader_backpressure_keeps_proxy_memory_bounded(emulator_server, emulator_url, elbv2, vpc_id, lb):
    kernel = 2 * (_buffer_max("tcp_rmem") + _buffer_max("tcp_wmem"))  # what both legs' sockets can hold
    total = kernel + (16 << 20)
    reader = _StalledReader()
    tg = target_group(elbv2, vpc_id, "slow", ports=[reader.port])
    arn = listener(elbv2, lb, tg)
    with connect(listener_address(emulator_url, arn), timeout=0.5) as sock:
        chunk, sent = b"\0" * (1 << 16), 0
        try:
            while sent < total:
                sent += sock.send(chunk)
        except TimeoutError:
            pass  # the send blocked: backpressure reached the client
        flows = list(_runtime(emulator_server, arn).tcp_flows)
        buffered = [leg.transport.get_write_buffer_size() for f in flows for leg in (f.client, f.upstream)]
        assert sent < kernel + (2 << 20), sent  # only kernel socket buffers plus a bounded proxy buffer hold data
        assert max(buffered) <= 1 << 20, buffered
        reader.release.set()  # the reader starts reading: the proxy resumes and everything arrives
        sock.settimeout(10)
        sock.sendall(b"\0" * (total - sent))
        sock.shutdown(socket.SHUT_WR)
        reader.join()
    assert reader.received == total


def test_bytes_sent_before_the_target_accepts_stay_in_the_kernel(emulator_url, elbv2, vpc_id, lb):
    # A target whose accept queue is full drops the proxy's SYN, so the target leg stays unconnected while
    # the client sends. The proxy may hold one read; the rest must stay in the client's and the proxy's
    # socket buffers until the client's send blocks (uvloop reads after connection_made despite a pause).
    kernel = _buffer_max("tcp_rmem") + _buffer_max("tcp_wmem")
    with TcpEcho() as health, socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:  # one fills the accept queue; the SYNs of the others are dropped
            filler.setblocking(False)
            filler.connect_ex(full.getsockname())
        try:
            tg = target_group(elbv2, vpc_id, "unaccepting", ports=[full.getsockname()[1]], HealthCheckPort=str(health.port))
            address = listener_address(emulator_url, listener(elbv2, lb, tg))
            wait_healthy(elbv2, tg)
            with connect(address, timeout=0.5) as sock:
                chunk, sent = b"\0" * (1 << 16), 0
                try:
                    while sent < kernel + (16 << 20):
                        sent += sock.send(chunk)
                except TimeoutError:
                    pass  # the send blocked: nothing past the kernel buffers was read
                assert sent < kernel + (2 << 20), sent
        finally:
            for filler in fillers:
                filler.close()


def test_a_listener_at_its_connection_cap_resets_new_connections(emulator_url, elbv2, vpc_id, lb, monkeypatch):
    # The emulator's descriptor guard (README "Hostile input"): AWS scales out instead, one process cannot.
    monkeypatch.setenv("ELBV2_EMULATOR_MAX_CONNECTIONS", "3")  # read when the listener starts
    with TcpEcho() as echo:
        tg = target_group(elbv2, vpc_id, "capped", ports=[echo.port])
        address = listener_address(emulator_url, listener(elbv2, lb, tg))
        wait_healthy(elbv2, tg)
        held = [connect(address) for _ in range(3)]
        try:
            for sock in held:  # the three are admitted: each flow echoes
                sock.sendall(b"hi")
                assert recv_exactly(sock, 2) == b"hi"
            _connect_expecting_reset(address)  # the fourth is reset
            held[0].sendall(b"still")
            assert recv_exactly(held[0], 5) == b"still"  # the open flows go on
            held.pop().close()
            wait_for(lambda: _echoes(address))  # below the cap again: new flows are served
        finally:
            for sock in held:
                sock.close()


def _echoes(address: tuple[str, int]) -> bool:
    try:
        with connect(address) as sock:
            sock.sendall(b"ok")
            return recv_exactly(sock, 2) == b"ok"
    except OSError:
        return False


def test_refusing_target_resets_the_client(emulator_url, elbv2, vpc_id, lb):
    with TcpEcho() as health:  # the target passes its checks on another port, but refuses traffic
        tg = target_group(elbv2, vpc_id, "refuse", ports=[_free_port()], HealthCheckPort=str(health.port))
        address = listener_address(emulator_url, listener(elbv2, lb, tg))
        wait_healthy(elbv2, tg)
        _connect_expecting_reset(address)


def test_no_registered_target_resets_at_once(emulator_url, elbv2, vpc_id, lb):
    tg = target_group(elbv2, vpc_id, "empty")
    address = listener_address(emulator_url, listener(elbv2, lb, tg))
    _connect_expecting_reset(address)


def test_idle_timeout_closes_silent_flows(emulator_url, elbv2, vpc_id, lb, monkeypatch):
    # tcp.idle_timeout.seconds is real seconds (60-6000); the test-only scale turns 60 s into 0.6 s.
    monkeypatch.setenv(TCP_IDLE_SCALE_ENV, "0.01")
    with TcpEcho() as echo:
        tg = target_group(elbv2, vpc_id, "idle", ports=[echo.port])
        arn = listener(elbv2, lb, tg)
        elbv2.modify_listener_attributes(ListenerArn=arn, Attributes=[{"Key": "tcp.idle_timeout.seconds", "Value": "60"}])
        address = listener_address(emulator_url, arn)
        with connect(address) as busy, connect(address) as silent:
            silent.sendall(b"hi")
            assert recv_exactly(silent, 2) == b"hi"
            for _ in range(12):  # 1.2 s of traffic every 0.1 s: the busy flow never goes idle
                busy.sendall(b"k")
                assert recv_exactly(busy, 1) == b"k"
                threading.Event().wait(0.1)
            _assert_reset(silent)  # silent for longer than 0.6 s (at most 1.25x that): reset


def test_listener_changes_apply_to_new_flows_while_old_flows_continue(emulator_url, elbv2, vpc_id, lb):
    with TcpEcho(b"A") as a, TcpEcho(b"B") as b:
        tg_a = target_group(elbv2, vpc_id, "change-a", ports=[a.port])
        tg_b = target_group(elbv2, vpc_id, "change-b", ports=[b.port])
        arn = listener(elbv2, lb, tg_a)
        address = listener_address(emulator_url, arn)
        with connect(address) as old:
            old.sendall(b"1")
            assert recv_exactly(old, 2) == b"A1"
            elbv2.modify_listener(ListenerArn=arn, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_b}])
            assert _greeting_of(address) == b"B"  # new flows follow the new default action at once
            old.sendall(b"2")
            assert recv_exactly(old, 1) == b"2"  # the old flow stays on its target
        elbv2.modify_listener(ListenerArn=arn, Port=7001)
        moved = listener_address(emulator_url, arn)
        assert moved[1] != address[1] and _greeting_of(moved) == b"B"
