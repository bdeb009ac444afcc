"""NLB UDP and TCP_UDP listeners (NLB guide "Listeners" and "Connection idle timeout").

A UDP flow is keyed by the client's address and sticks to one target until idle for 120 s (1.2 s on the
fast clock); replies come back from the listener's address.
"""

from __future__ import annotations

import socket
import threading
import time

from tests.backends import TcpEcho, UdpEcho
from tests.nlb_support import connect, listener, listener_address, nlb, recv_all, target_group, wait_healthy

UDP_IDLE_FAST = 1.2  # 120 s, scaled by the fast timing mode


class _PeerReporter:
    """A UDP backend answering each datagram with its name and the sender's port (the proxy's flow socket)."""

    def __init__(self, name: bytes) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.name = name
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(65536)
            except OSError:
                return
            self.sock.sendto(self.name + b" %d" % peer[1], peer)

    def close(self) -> None:
        self.sock.close()


def _udp_group(elbv2, vpc_id: str, name: str, health: TcpEcho, ports: list[int], protocol: str = "UDP") -> str:
    """A UDP group health-checked over TCP on ``health``'s port (AWS checks UDP services with TCP or HTTP)."""
    return target_group(elbv2, vpc_id, name, protocol=protocol, ports=ports, HealthCheckProtocol="TCP",
                        HealthCheckPort=str(health.port))


def _udp_listener(emulator_url: str, elbv2, subnets: list[str], tg: str, port: int, protocol: str = "UDP") -> tuple:
    """The listener's address, once its group's targets passed their checks (checks start with a listener)."""
    arn = listener(elbv2, nlb(elbv2, subnets), tg, protocol=protocol, port=port)
    wait_healthy(elbv2, tg)
    return listener_address(emulator_url, arn)


def _client(timeout: float = 3.0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(timeout)
    return sock


def _ask(sock: socket.socket, address: tuple[str, int], payload: bytes = b"q") -> bytes:
    sock.sendto(payload, address)
    data, sender = sock.recvfrom(65536)
    assert sender == address  # the reply comes from the listener's address
    return data


def test_udp_flows_spread_and_stick_to_their_target(emulator_url, elbv2, vpc_id, subnets):
    with UdpEcho(b"A:") as a, UdpEcho(b"B:") as b, TcpEcho() as health:
        tg = _udp_group(elbv2, vpc_id, "udp", health, [a.port, b.port])
        address = _udp_listener(emulator_url, elbv2, subnets, tg, 7053)
        clients = [_client() for _ in range(30)]
        first = [_ask(c, address, b"x")[:2] for c in clients]
        again = [_ask(c, address, b"y")[:2] for c in clients]
        for c in clients:
            c.close()
    assert set(first) == {b"A:", b"B:"}  # flows spread over both targets
    assert first == again  # each client's flow keeps its target


def test_udp_flow_expires_after_idle_timeout(emulator_url, elbv2, vpc_id, subnets):
    backend = _PeerReporter(b"R")
    try:
        with TcpEcho() as health:
            tg = _udp_group(elbv2, vpc_id, "udp-idle", health, [backend.port])
            address = _udp_listener(emulator_url, elbv2, subnets, tg, 7054)
            with _client() as client:
                flow = _ask(client, address)
                time.sleep(UDP_IDLE_FAST / 2)
                assert _ask(client, address) == flow  # within the idle timeout: the same flow
                time.sleep(UDP_IDLE_FAST * 1.25 + 0.3)  # silence (the behaviour under test) past the timeout
                assert _ask(client, address) != flow  # a new flow, from a new proxy socket
    finally:
        backend.close()


def test_tcp_udp_listener_serves_both_on_one_port(emulator_url, elbv2, vpc_id, subnets):
    with TcpEcho(b"T") as tcp, UdpEcho(b"U:") as udp:
        # A TCP_UDP target takes both protocols on one port; here the TCP and the UDP echo share nothing,
        # so the group first holds the TCP echo's port, then the UDP echo's (both health-checked via the TCP one).
        tg = _udp_group(elbv2, vpc_id, "both", tcp, [tcp.port], protocol="TCP_UDP")
        address = _udp_listener(emulator_url, elbv2, subnets, tg, 7055, "TCP_UDP")
        with connect(address) as sock:
            sock.sendall(b"hi")
            sock.shutdown(socket.SHUT_WR)
            assert recv_all(sock) == b"Thi"
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": udp.port}])
        elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": tcp.port}])
        wait_healthy(elbv2, tg)
        with _client() as client:
            assert _ask(client, address, b"hi") == b"U:hi"


def test_a_udp_listener_at_its_cap_drops_new_clients(emulator_url, elbv2, vpc_id, subnets, monkeypatch):
    # The emulator's descriptor guard: each UDP flow holds a socket, so new clients beyond the cap are dropped.
    monkeypatch.setenv("ELBV2_EMULATOR_MAX_CONNECTIONS", "2")  # read when the listener starts
    with UdpEcho(b"A:") as echo, TcpEcho() as health:
        tg = _udp_group(elbv2, vpc_id, "udpcap", health, [echo.port])
        address = _udp_listener(emulator_url, elbv2, subnets, tg, 7057)
        admitted, refused = [_client() for _ in range(2)], _client(timeout=0.5)
        try:
            assert [_ask(c, address, b"x") for c in admitted] == [b"A:x", b"A:x"]
            refused.sendto(b"y", address)
            try:
                answer = refused.recvfrom(65536)[0]
            except TimeoutError:
                answer = None
            assert answer is None  # the third client's datagram is dropped
            assert _ask(admitted[0], address, b"z") == b"A:z"  # the open flows go on
        finally:
            for c in (*admitted, refused):
                c.close()
