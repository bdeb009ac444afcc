"""Where a listener really listens when its port is taken (README "Where load balancers listen").

A port taken by a foreign process cannot happen on AWS. With each LB's own 127.1.x.y address the listener
is remapped to an ephemeral port on that address, and ``GET /_emulator/listeners`` says so (State
"remapped", the requested and the real address, the reason). With ``--listen-host`` there is no remap:
CreateListener answers InvalidConfigurationRequest (AWS API Reference, CreateListener, "Errors": "The
requested configuration is not valid", HTTP 400). A listener that cannot be bound at all is reported
"failed" with the error, and TCP_UDP binds both halves on one port or neither: the emulator's own sockets
are counted through /proc/self/fd (the server runs in this process).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from emulator.server import EmulatorServer
from tests.backends import TcpEcho, UdpEcho
from tests.nlb_support import connect, listener, nlb, recv_exactly, target_group, wait_for, wait_healthy

FIXED_204 = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "204"}}]


def _report(url: str, listener_arn: str) -> dict[str, Any]:
    [entry] = [e for e in requests.get(f"{url}/_emulator/listeners", timeout=5).json() if e["ListenerArn"] == listener_arn]
    return entry


def _lb_address(url: str, elbv2: Any, lb_arn: str) -> str:
    """The LB's own loopback address, from the DNS table (known before any listener exists)."""
    dns_name = elbv2.describe_load_balancers(LoadBalancerArns=[lb_arn])["LoadBalancers"][0]["DNSName"]
    return requests.get(f"{url}/_emulator/dns", timeout=5).json()[dns_name.lower()]


def _own_bound(host: str, exclude: tuple[socket.socket, ...] = ()) -> set[tuple[str, int]]:
    """("tcp"|"udp", port) of every listening TCP or bound UDP socket on ``host`` that this process holds
    (its fds in /proc/self/fd), except the test's own ``exclude`` sockets."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    inodes -= {str(Path(f"/proc/self/fd/{s.fileno()}").stat().st_ino) for s in exclude}
    wanted = socket.inet_aton(host)[::-1].hex().upper()
    found = set()
    for kind in ("tcp", "udp"):
        for line in Path(f"/proc/net/{kind}").read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            listening = kind == "udp" or fields[3] == "0A"
            if address == wanted and listening and fields[9] in inodes:
                found.add((kind, int(port, 16)))
    return found


def _udp_exchange(address: tuple[str, int], payload: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(0.5)

        def answered() -> bytes | None:
            client.sendto(payload, address)  # UDP is lossy and flows start with the first datagram: resend
            try:
                return client.recv(65536)
            except TimeoutError:
                return None

        return wait_for(answered)


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def _assert_nothing_reached(foreign: socket.socket) -> None:
    foreign.setblocking(False)
    with pytest.raises(BlockingIOError):
        foreign.accept() if foreign.type == socket.SOCK_STREAM else foreign.recv(1)


# -- each LB's own address: a taken port is remapped, and the report says where --------------------------------


def test_tcp_port_taken_on_the_lb_address_is_remapped_and_reported(emulator_url, elbv2, vpc_id, subnets) -> None:
    lb = nlb(elbv2, subnets)
    host = _lb_address(emulator_url, elbv2, lb)
    with TcpEcho(b"emulator ") as backend, socket.socket() as foreign:
        foreign.bind((host, 0))
        foreign.listen()
        port = foreign.getsockname()[1]
        tg = target_group(elbv2, vpc_id, "tcp", ports=[backend.port])
        arn = listener(elbv2, lb, tg, port=port)
        entry = _report(emulator_url, arn)
        assert (entry["State"], entry["RequestedAddress"], entry["Port"]) == ("remapped", f"{host}:{port}", port)
        assert "Address already in use" in entry["Reason"]
        bound_host, bound_port = _split(entry["Address"])
        assert bound_host == host and bound_port != port
        wait_healthy(elbv2, tg)
        with connect((host, bound_port)) as client:
            client.sendall(b"hello")
            assert recv_exactly(client, 14) == b"emulator hello"
        _assert_nothing_reached(foreign)


def test_udp_port_taken_on_the_lb_address_is_remapped_and_reported(emulator_url, elbv2, vpc_id, subnets) -> None:
    lb = nlb(elbv2, subnets)
    host = _lb_address(emulator_url, elbv2, lb)
    with TcpEcho() as health, UdpEcho(b"emulator ") as backend, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as foreign:
        foreign.bind((host, 0))
        port = foreign.getsockname()[1]
        tg = target_group(elbv2, vpc_id, "udp", protocol="UDP", ports=[backend.port], HealthCheckProtocol="TCP",
                          HealthCheckPort=str(health.port))
        arn = listener(elbv2, lb, tg, protocol="UDP", port=port)
        entry = _report(emulator_url, arn)
        assert (entry["State"], entry["RequestedAddress"]) == ("remapped", f"{host}:{port}")
        bound = _split(entry["Address"])
        assert bound[0] == host and bound[1] != port
        wait_healthy(elbv2, tg)
        assert _udp_exchange(bound, b"ping") == b"emulator ping"
        _assert_nothing_reached(foreign)


class _UdpEchoOn:
    """Answers datagrams on 127.0.0.1:``port`` (a TCP_UDP target takes both protocols on one port)."""

    def __init__(self, port: int, prefix: bytes) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.prefix = prefix
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(65536)
                self.sock.sendto(self.prefix + data, peer)
            except OSError:
                return


def test_tcp_udp_with_the_udp_half_taken_moves_both_halves_and_leaks_no_socket(
    emulator_url, elbv2, vpc_id, subnets
) -> None:
    lb = nlb(elbv2, subnets)
    host = _lb_address(emulator_url, elbv2, lb)
    with TcpEcho(b"tcp ") as backend, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as foreign:
        udp_backend = _UdpEchoOn(backend.port, b"udp ")
        foreign.bind((host, 0))
        port = foreign.getsockname()[1]
        tg = target_group(elbv2, vpc_id, "both", protocol="TCP_UDP", ports=[backend.port])
        arn = listener(elbv2, lb, tg, protocol="TCP_UDP", port=port)
        entry = _report(emulator_url, arn)
        assert (entry["State"], entry["RequestedAddress"]) == ("remapped", f"{host}:{port}")
        bound = _split(entry["Address"])
        # Exactly one listening TCP and one UDP socket, both on the new port; nothing on the taken one.
        assert _own_bound(host, exclude=(foreign,)) == {("tcp", bound[1]), ("udp", bound[1])}
        wait_healthy(elbv2, tg)
        with connect(bound) as client:
            client.sendall(b"x")
            assert recv_exactly(client, 5) == b"tcp x"
        assert _udp_exchange(bound, b"y") == b"udp y"
        _assert_nothing_reached(foreign)
        elbv2.delete_listener(ListenerArn=arn)
        assert _own_bound(host, exclude=(foreign,)) == set()
        udp_backend.sock.close()


# -- --listen-host: one shared address, no remap; the API refuses what it cannot bind ------------------------------


@pytest.fixture(scope="module")
def shared_host() -> Iterator[str]:
    server = EmulatorServer(port=0, listen_host="127.0.0.1").start()
    yield server.url
    server.stop()


def _clients(url: str) -> tuple[Any, list[str], str]:
    """elbv2, two subnets in different zones, and the default VPC of the server at ``url``."""
    elbv2 = boto3.client("elbv2", endpoint_url=url, region_name="us-east-1")
    ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1")
    zones: dict[str, str] = {}
    for subnet in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]:
        zones.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    return elbv2, [zones[zone] for zone in sorted(zones)][:2], vpc


def _forward_to_new_group(elbv2: Any, vpc: str, protocol: str) -> list[dict]:
    tg = target_group(elbv2, vpc, f"tg-{protocol.lower().replace('_', '-')}", protocol=protocol)
    return [{"Type": "forward", "TargetGroupArn": tg}]


def _refused(call: Any, **arguments: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**arguments)
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidConfigurationRequest", 400)
    return error["Error"]["Message"]


@pytest.mark.parametrize(("kind", "protocol"), [(socket.SOCK_STREAM, "TCP"), (socket.SOCK_DGRAM, "TCP_UDP")])
def test_listen_host_refuses_a_port_taken_by_another_program(shared_host, kind, protocol) -> None:
    elbv2, subnets, vpc = _clients(shared_host)
    lb = nlb(elbv2, subnets, name=f"taken-{protocol.lower().replace('_', '-')}")
    actions = _forward_to_new_group(elbv2, vpc, protocol)
    with socket.socket(socket.AF_INET, kind) as foreign:
        foreign.bind(("127.0.0.1", 0))
        port = foreign.getsockname()[1]
        message = _refused(elbv2.create_listener, LoadBalancerArn=lb, Protocol=protocol, Port=port,
                           DefaultActions=actions)
        assert f"port {port}" in message and "Address already in use" in message
        assert elbv2.describe_listeners(LoadBalancerArn=lb)["Listeners"] == []  # nothing half-created
        assert {p for _, p in _own_bound("127.0.0.1", exclude=(foreign,))} & {port} == set()  # no orphaned TCP half


def test_listen_host_refuses_the_port_of_another_load_balancers_listener(shared_host) -> None:
    elbv2, subnets, _ = _clients(shared_host)
    first, second = (elbv2.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
                     for name in ("first", "second"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    arn = elbv2.create_listener(LoadBalancerArn=first, Protocol="HTTP", Port=port,
                                DefaultActions=FIXED_204)["Listeners"][0]["ListenerArn"]
    message = _refused(elbv2.create_listener, LoadBalancerArn=second, Protocol="HTTP", Port=port,
                       DefaultActions=FIXED_204)
    assert "127.0.0.1" in message
    # Moving another listener onto that port is refused too, and leaves it where it was.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        other_port = probe.getsockname()[1]
    other = elbv2.create_listener(LoadBalancerArn=second, Protocol="HTTP", Port=other_port,
                                  DefaultActions=FIXED_204)["Listeners"][0]["ListenerArn"]
    _refused(elbv2.modify_listener, ListenerArn=other, Port=port)
    assert elbv2.describe_listeners(ListenerArns=[other])["Listeners"][0]["Port"] == other_port
    assert _report(shared_host, other)["Address"] == f"127.0.0.1:{other_port}"
    # The listener that holds the port may be modified in place: its own socket is not in the way.
    elbv2.modify_listener(ListenerArn=arn, DefaultActions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "MessageBody": "still here"}}])
    entry = _report(shared_host, arn)
    assert (entry["State"], entry["Address"]) == ("listening", f"127.0.0.1:{port}")
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "still here"


def test_a_listener_that_cannot_bind_at_start_up_is_reported_failed_then_retried(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = EmulatorServer(port=0, listen_host="127.0.0.1", state_dir=tmp_path).start()
    try:
        elbv2, subnets, vpc = _clients(server.url)
        arn = elbv2.create_listener(LoadBalancerArn=nlb(elbv2, subnets, name="restored"), Protocol="TCP_UDP",
                                    Port=port, DefaultActions=_forward_to_new_group(elbv2, vpc, "TCP_UDP"),
                                    )["Listeners"][0]["ListenerArn"]
    finally:
        server.stop()
    foreign = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    foreign.bind(("127.0.0.1", port))  # taken while the emulator was down: its restored listener cannot bind
    server = EmulatorServer(port=0, listen_host="127.0.0.1", state_dir=tmp_path).start()
    try:
        entry = _report(server.url, arn)
        assert (entry["State"], entry["Address"], entry["RequestedAddress"]) == ("failed", None, f"127.0.0.1:{port}")
        assert "Address already in use" in entry["Reason"]
        assert {p for _, p in _own_bound("127.0.0.1", exclude=(foreign,))} & {port} == set()  # the TCP half too
        foreign.close()
        elbv2, _, _ = _clients(server.url)
        elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": "retry", "Value": "now"}])  # any change: a new pass
        wait_for(lambda: _report(server.url, arn)["State"] == "listening")
        assert _report(server.url, arn)["Address"] == f"127.0.0.1:{port}"
    finally:
        foreign.close()
        server.stop()
