"""NLB QUIC and TCP_QUIC listeners: QUIC passthrough that keeps a connection on its target by connection ID.

AWS: "Listeners for your Network Load Balancers" (QUIC passthrough per RFC 9000, QUIC v1 only), "Create a
listener for your Network Load Balancer" (the restrictions), API reference TargetDescription (QuicServerId).
The targets are real aioquic servers, the client a real aioquic connection (tests/quic_backends.py).
"""

from __future__ import annotations

import os
import socket
import threading

import pytest
import trustme
from botocore.exceptions import ClientError

from tests.backends import TcpEcho
from tests.nlb_support import connect, listener, listener_address, nlb, recv_exactly, target_group, wait_healthy
from tests.quic_backends import QuicClient, QuicEchoServer

SERVER_A, SERVER_B = "0x00000000000000a1", "0x00000000000000b2"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _quic_group(elbv2, vpc_id: str, name: str, targets: list[tuple[int, str]], health_port: int,
                protocol: str = "QUIC") -> str:
    """A QUIC group (checked over TCP: QUIC is no health-check protocol) with (port, QuicServerId) targets."""
    tg = target_group(elbv2, vpc_id, name, protocol=protocol, HealthCheckProtocol="TCP", HealthCheckPort=str(health_port))
    elbv2.register_targets(TargetGroupArn=tg, Targets=[
        {"Id": "127.0.0.1", "Port": port, "QuicServerId": server_id} for port, server_id in targets])
    return tg


def _listening(emulator_url, elbv2, subnets, tg: str, port: int, protocol: str = "QUIC") -> tuple[str, int]:
    arn = listener(elbv2, nlb(elbv2, subnets), tg, protocol=protocol, port=port)
    wait_healthy(elbv2, tg)
    return listener_address(emulator_url, arn)


def test_quic_handshake_and_streams_through_the_nlb(emulator_url, elbv2, vpc_id, subnets, ca, tmp_path):
    with QuicEchoServer(b"A:", SERVER_A, ca, tmp_path) as a, QuicEchoServer(b"B:", SERVER_B, ca, tmp_path) as b, \
            TcpEcho() as health:
        tg = _quic_group(elbv2, vpc_id, "quic", [(a.port, a.server_id), (b.port, b.server_id)], health.port)
        address = _listening(emulator_url, elbv2, subnets, tg, 7443)
        shown = {d["Target"]["Port"]: d["Target"]["QuicServerId"]
                 for d in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}
        clients = [QuicClient(address, ca) for _ in range(6)]
        answers = []
        for client in clients:
            client.connect()
            answers.append(client.request(b"hello", expected=7))
            client.close()
    assert shown == {a.port: SERVER_A, b.port: SERVER_B}
    assert all(answer[2:] == b"hello" for answer in answers)  # full handshakes and a stream each way
    assert len(a.connections) + len(b.connections) == len(clients)  # each connection reached one target


def test_a_migrating_connection_stays_on_its_target(emulator_url, elbv2, vpc_id, subnets, ca, tmp_path):
    """The client moves to a new port and a new connection ID five times: the NLB follows the server ID in
    the connection ID, so every request is answered by the target of the handshake, on one connection."""
    with QuicEchoServer(b"A:", SERVER_A, ca, tmp_path) as a, QuicEchoServer(b"B:", SERVER_B, ca, tmp_path) as b, \
            TcpEcho() as health:
        tg = _quic_group(elbv2, vpc_id, "quic", [(a.port, a.server_id), (b.port, b.server_id)], health.port)
        address = _listening(emulator_url, elbv2, subnets, tg, 7444)
        client = QuicClient(address, ca)
        client.connect()
        first = client.request(b"0", expected=3)[:2]
        ports, answers = {client.source_port}, []
        for n in range(1, 6):
            client.rebind()
            ports.add(client.source_port)
            answers.append(client.request(b"%d" % n, expected=3)[:2])
        client.close()
        serving = a if first == b"A:" else b
        other = b if serving is a else a
    assert len(ports) == 6  # six client addresses
    assert answers == [first] * 5
    assert len(serving.connections) == 1 and not other.connections
    assert len(serving.peers) >= 6  # the target saw the connection arrive from each new flow


class _Recorder:
    """A raw UDP target that keeps every datagram it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.arrived = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                data, _ = self.sock.recvfrom(65536)
            except OSError:
                return
            self.received.append(data)
            self.arrived.set()


def _short_header(server_id: str) -> bytes:
    """A 1-RTT packet (RFC 9000 §17.3) to a connection ID that carries ``server_id`` after its first octet."""
    return b"\x40" + b"\x00" + bytes.fromhex(server_id[2:]) + os.urandom(7) + b"payload"


def test_packets_go_to_the_target_their_server_id_names(emulator_url, elbv2, vpc_id, subnets):
    """Short-header packets from new client addresses reach the target whose server ID they carry; a long
    header of another QUIC version is dropped (AWS: QUIC v1 only, no version negotiation)."""
    a, b = _Recorder(), _Recorder()
    with TcpEcho() as health:
        tg = _quic_group(elbv2, vpc_id, "quic", [(a.port, SERVER_A), (b.port, SERVER_B)], health.port)
        address = _listening(emulator_url, elbv2, subnets, tg, 7445)
        for server, recorder in [(SERVER_B, b), (SERVER_A, a), (SERVER_B, b)] * 3:
            recorder.arrived.clear()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:  # a new address each time
                packet = _short_header(server)
                client.sendto(packet, address)
                assert recorder.arrived.wait(3)
            assert recorder.received[-1] == packet
        version_2 = b"\xc0\x6b\x33\x43\xcf\x10" + b"\x00" + bytes.fromhex(SERVER_A[2:]) + os.urandom(7) + b"\x00"
        a.arrived.clear()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.sendto(version_2, address)
            client.sendto(_short_header(SERVER_A), address)  # then a v1 packet on the same flow, which arrives
            assert a.arrived.wait(3)
    assert len(a.received) == 4 and len(b.received) == 6
    assert version_2 not in a.received


def test_tcp_quic_serves_tcp_and_quic_on_one_port(emulator_url, elbv2, vpc_id, subnets, ca, tmp_path):
    with TcpEcho(b"tcp:") as tcp, QuicEchoServer(b"Q:", SERVER_A, ca, tmp_path, port=tcp.port) as quic:
        tg = _quic_group(elbv2, vpc_id, "tcpquic", [(tcp.port, quic.server_id)], tcp.port, protocol="TCP_QUIC")
        address = _listening(emulator_url, elbv2, subnets, tg, 7446, protocol="TCP_QUIC")
        with connect(address) as sock:
            sock.sendall(b"ping")
            over_tcp = recv_exactly(sock, 8)
        client = QuicClient(address, ca)
        client.connect()
        over_quic = client.request(b"ping", expected=6)
        client.close()
    assert over_tcp == b"tcp:ping"
    assert over_quic == b"Q:ping"


def _error(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_quic_listener_restrictions(elbv2, ec2, vpc_id, subnets):
    """"Create a listener for your Network Load Balancer": not on dualstack NLBs or NLBs with security
    groups; one QUIC or TCP_QUIC listener per NLB; none beside UDP or TCP_UDP listeners (and so no UDP
    listener beside a QUIC one, and no dualstack once a QUIC listener exists)."""
    quic_tg = target_group(elbv2, vpc_id, "quic", protocol="QUIC", HealthCheckProtocol="TCP")
    tcp_quic_tg = target_group(elbv2, vpc_id, "tcpquic", protocol="TCP_QUIC")
    udp_tg = target_group(elbv2, vpc_id, "udp", protocol="UDP", HealthCheckProtocol="TCP")
    dualstack = elbv2.create_load_balancer(Name="ds", Type="network", Subnets=subnets,
                                           IpAddressType="dualstack")["LoadBalancers"][0]["LoadBalancerArn"]
    group = ec2.create_security_group(GroupName="nlb-sg", Description="nlb", VpcId=vpc_id)["GroupId"]
    guarded = elbv2.create_load_balancer(Name="sg", Type="network", Subnets=subnets,
                                         SecurityGroups=[group])["LoadBalancers"][0]["LoadBalancerArn"]
    for lb in (dualstack, guarded):
        code, message = _error(elbv2.create_listener, LoadBalancerArn=lb, Protocol="QUIC", Port=443,
                               DefaultActions=[{"Type": "forward", "TargetGroupArn": quic_tg}])
        assert code == "InvalidConfigurationRequest"
        assert ("dualstack" if lb == dualstack else "security groups") in message

    tcp_on_dualstack = listener(elbv2, dualstack, target_group(elbv2, vpc_id, "tcp"), protocol="TCP", port=80)
    code, message = _error(elbv2.modify_listener, ListenerArn=tcp_on_dualstack, Protocol="QUIC", DefaultActions=[
        {"Type": "forward", "TargetGroupArn": target_group(elbv2, vpc_id, "quic3", protocol="QUIC", HealthCheckProtocol="TCP")}])
    assert code == "InvalidConfigurationRequest" and "dualstack" in message  # ModifyListener too

    plain = nlb(elbv2, subnets, name="plain")
    listener(elbv2, plain, quic_tg, protocol="QUIC", port=443)
    for protocol, tg in (("TCP_QUIC", tcp_quic_tg), ("QUIC", quic_tg)):
        code, message = _error(elbv2.create_listener, LoadBalancerArn=plain, Protocol=protocol, Port=444,
                               DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        assert (code, "only one QUIC or TCP_QUIC listener" in message) == ("InvalidConfigurationRequest", True)
    code, _ = _error(elbv2.create_listener, LoadBalancerArn=plain, Protocol="UDP", Port=53,
                     DefaultActions=[{"Type": "forward", "TargetGroupArn": udp_tg}])
    assert code == "InvalidConfigurationRequest"
    code, _ = _error(elbv2.set_ip_address_type, LoadBalancerArn=plain, IpAddressType="dualstack")
    assert code == "InvalidConfigurationRequest"

    with_udp = nlb(elbv2, subnets, name="withudp")
    listener(elbv2, with_udp, target_group(elbv2, vpc_id, "udp2", protocol="UDP", HealthCheckProtocol="TCP"),
             protocol="UDP", port=53)
    code, message = _error(elbv2.create_listener, LoadBalancerArn=with_udp, Protocol="QUIC", Port=443, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": target_group(elbv2, vpc_id, "quic2", protocol="QUIC", HealthCheckProtocol="TCP")}])
    assert code == "InvalidConfigurationRequest" and "UDP" in message


def test_quic_server_id_rules(elbv2, vpc_id, subnets):
    """API reference, TargetDescription QuicServerId: required for QUIC and TCP_QUIC groups, refused for others;
    "0x" and 16 lowercase hex digits; unique at the listener level; not modifiable while registered."""
    quic_tg = target_group(elbv2, vpc_id, "quic", protocol="QUIC", HealthCheckProtocol="TCP")
    udp_tg = target_group(elbv2, vpc_id, "udp", protocol="UDP", HealthCheckProtocol="TCP")
    register = elbv2.register_targets
    assert _error(register, TargetGroupArn=quic_tg, Targets=[{"Id": "127.0.0.1", "Port": 9001}])[0] == "ValidationError"
    assert _error(register, TargetGroupArn=udp_tg,
                  Targets=[{"Id": "127.0.0.1", "Port": 9001, "QuicServerId": SERVER_A}])[0] == "ValidationError"
    for bad in ("0x00000000000000A1", "00000000000000a1", "0x00a1"):
        assert _error(register, TargetGroupArn=quic_tg,
                      Targets=[{"Id": "127.0.0.1", "Port": 9001, "QuicServerId": bad}])[0] == "ValidationError"
    register(TargetGroupArn=quic_tg, Targets=[{"Id": "127.0.0.1", "Port": 9001, "QuicServerId": SERVER_A}])
    register(TargetGroupArn=quic_tg, Targets=[{"Id": "127.0.0.1", "Port": 9001, "QuicServerId": SERVER_A}])  # unchanged
    assert _error(register, TargetGroupArn=quic_tg,
                  Targets=[{"Id": "127.0.0.1", "Port": 9002, "QuicServerId": SERVER_A}])[0] == "InvalidTarget"
    assert _error(register, TargetGroupArn=quic_tg,
                  Targets=[{"Id": "127.0.0.1", "Port": 9001, "QuicServerId": SERVER_B}])[0] == "InvalidTarget"
    assert _error(register, TargetGroupArn=quic_tg, Targets=[
        {"Id": "127.0.0.1", "Port": 9003, "QuicServerId": SERVER_B},
        {"Id": "127.0.0.1", "Port": 9004, "QuicServerId": SERVER_B}])[0] == "InvalidTarget"
    # Another group forwarded to by the same listener (weighted forward) may not reuse a server ID.
    other_tg = target_group(elbv2, vpc_id, "quic-b", protocol="QUIC", HealthCheckProtocol="TCP")
    elbv2.create_listener(LoadBalancerArn=nlb(elbv2, subnets), Protocol="QUIC", Port=443, DefaultActions=[
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": quic_tg, "Weight": 1},
                                                               {"TargetGroupArn": other_tg, "Weight": 1}]}}])
    assert _error(register, TargetGroupArn=other_tg,
                  Targets=[{"Id": "127.0.0.1", "Port": 9005, "QuicServerId": SERVER_A}])[0] == "InvalidTarget"
    register(TargetGroupArn=other_tg, Targets=[{"Id": "127.0.0.1", "Port": 9005, "QuicServerId": SERVER_B}])
