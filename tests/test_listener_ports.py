"""`--listener-ports FIRST-LAST`: every listener binds a port of one fixed range, so a container that publishes
that range (`docker run -p 4510-4559:4510-4559`) reaches them all, whatever ports the listeners declare."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from emulator.dataplane.published_ports import PortRange
from emulator.server import EmulatorServer

HOST = "127.0.0.1"


def _free_pair() -> PortRange:
    """Two consecutive ports free on 127.0.0.1 (the listeners share it: --listen-host)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            first = probe.getsockname()[1]
        if first < 65535:
            with socket.socket() as second:
                try:
                    second.bind((HOST, first + 1))
                except OSError:
                    continue
            return PortRange(first, first + 1)
    raise RuntimeError("no two consecutive free ports")


@pytest.fixture(scope="module")
def published() -> Iterator[tuple[EmulatorServer, PortRange]]:
    ports = _free_pair()
    server = EmulatorServer(port=0, listen_host=HOST, listener_ports=ports).start()
    yield server, ports
    server.stop()


def _listener(elbv2, ec2, name: str, port: int, body: str) -> str:
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    zones: dict[str, str] = {}
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
        zones.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    lb = elbv2.create_load_balancer(Name=name, Subnets=sorted(zones.values())[:2])["LoadBalancers"][0]
    return elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port, DefaultActions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "MessageBody": body}}],
    )["Listeners"][0]["ListenerArn"]


def _addresses(server: EmulatorServer) -> dict[str, str]:
    return {entry["ListenerArn"]: entry["Address"]
            for entry in requests.get(f"{server.url}/_emulator/listeners", timeout=5).json()}


def test_listeners_take_the_ports_of_the_range_in_order_and_refuse_beyond_it(published) -> None:
    server, ports = published
    elbv2 = boto3.client("elbv2", endpoint_url=server.url, region_name="us-east-1")
    ec2 = boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1")
    first = _listener(elbv2, ec2, "first", 80, "one")
    second = _listener(elbv2, ec2, "second", 80, "two")  # the same declared port: each gets its own range port

    assert _addresses(server) == {first: f"{HOST}:{ports.first}", second: f"{HOST}:{ports.last}"}
    assert requests.get(f"http://{HOST}:{ports.first}/", timeout=5).text == "one"
    assert requests.get(f"http://{HOST}:{ports.last}/", timeout=5).text == "two"
    # The API still shows the declared port.
    assert elbv2.describe_listeners(ListenerArns=[first])["Listeners"][0]["Port"] == 80

    with pytest.raises(ClientError) as refused:
        _listener(elbv2, ec2, "third", 8080, "three")
    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidConfigurationRequest", 400)
    assert f"listener port range {ports}" in error["Error"]["Message"]

    elbv2.delete_listener(ListenerArn=first)  # its port is free again, for the next listener
    third = elbv2.create_listener(
        LoadBalancerArn=elbv2.describe_load_balancers(Names=["third"])["LoadBalancers"][0]["LoadBalancerArn"],
        Protocol="HTTP", Port=8080,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "MessageBody": "3"}}],
    )["Listeners"][0]["ListenerArn"]
    assert _addresses(server) == {second: f"{HOST}:{ports.last}", third: f"{HOST}:{ports.first}"}
    assert requests.get(f"http://{HOST}:{ports.first}/", timeout=5).text == "3"


def test_a_malformed_range_is_refused_with_a_message() -> None:
    for text, wanted in [("4510", None), ("4559-4510", "FIRST <= LAST"), ("a-b", "FIRST-LAST"), ("0-10", "1 <=")]:
        if wanted is None:
            assert PortRange.parse(text) == PortRange(4510, 4510)
            continue
        with pytest.raises(ValueError, match=wanted):
            PortRange.parse(text)
