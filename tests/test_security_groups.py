"""Security groups in traffic: a load balancer admits only the client sources its groups' inbound rules allow.

AWS "Security groups for your Application Load Balancer" and "Update the security groups for your Network
Load Balancer"; connection tracking: "Security group connection tracking" (EC2 user guide). Clients bind to
different loopback sources (127.0.0.1, 127.0.0.2, 127.0.10.5) so that CIDRs decide. This module runs its own
emulator with enforcement on (the default), since the shared test server runs with it off.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from emulator.server import EmulatorServer
from tests.alb_support import free_port, listener_url
from tests.backends import HttpEcho, TcpEcho, UdpEcho
from tests.nlb_support import listener_address, wait_healthy

REGION = "us-east-1"


class Aws:
    def __init__(self, url: str) -> None:
        self.url = url
        self.elbv2: Any = boto3.client("elbv2", endpoint_url=url, region_name=REGION)
        self.ec2: Any = boto3.client("ec2", endpoint_url=url, region_name=REGION)
        self.vpc = self.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        zones: dict[str, str] = {}
        for subnet in self.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [self.vpc]}])["Subnets"]:
            zones.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
        self.subnets = sorted(zones.values())[:2]

    def group(self, name: str, *rules: tuple[str, int, int, str]) -> str:
        """A security group with inbound (protocol, from port, to port, CIDR) rules."""
        group = self.ec2.create_security_group(GroupName=name, Description=name, VpcId=self.vpc)["GroupId"]
        for rule in rules:
            self.allow(group, *rule)
        return group

    def allow(self, group: str, protocol: str, low: int, high: int, cidr: str) -> None:
        self.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": protocol, "FromPort": low, "ToPort": high, "IpRanges": [{"CidrIp": cidr}]}])

    def revoke(self, group: str, protocol: str, low: int, high: int, cidr: str) -> None:
        self.ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": protocol, "FromPort": low, "ToPort": high, "IpRanges": [{"CidrIp": cidr}]}])

    def alb(self, name: str, backend: HttpEcho, port: int, groups: list[str] | None) -> tuple[str, str]:
        """(load balancer ARN, listener URL) of an ALB forwarding to ``backend``."""
        extra = {"SecurityGroups": groups} if groups is not None else {}
        lb = self.elbv2.create_load_balancer(Name=name, Subnets=self.subnets, **extra)["LoadBalancers"][0]
        tg = self.elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=self.vpc,
                                            TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        arn = self.elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                                         DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}]
                                         )["Listeners"][0]["ListenerArn"]
        self.elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": backend.host, "Port": backend.port}])
        wait_healthy(self.elbv2, tg)
        return lb["LoadBalancerArn"], listener_url(self.url, arn)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(port=0, enforce_security_groups=True).start()
    yield server
    server.stop()


@pytest.fixture
def aws(server: EmulatorServer) -> Aws:
    import requests

    requests.post(f"{server.url}/moto-api/reset", timeout=10).raise_for_status()
    return Aws(server.url)


def get(url: str, source: str) -> int | None:
    """The status of GET / from client address ``source``, or None when the connection is refused or reset
    before any answer (what a client sees of a security group's refusal here)."""
    host, _, port = url.split("://")[1].rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5, source_address=(source, 0))
    try:
        connection.request("GET", "/")
        return connection.getresponse().status
    except (ConnectionError, http.client.RemoteDisconnected):
        return None
    finally:
        connection.close()


def test_alb_admits_only_the_cidrs_its_groups_open_on_the_listener_port(aws: Aws) -> None:
    port = free_port()
    with HttpEcho() as backend:
        group = aws.group("web", ("tcp", port, port, "127.0.0.1/32"), ("tcp", port + 1, port + 2, "127.0.0.2/32"))
        _, url = aws.alb("sg-cidr", backend, port, [group])
        assert get(url, "127.0.0.1") == 200
        assert get(url, "127.0.0.2") is None  # its rule opens other ports only
        assert get(url, "127.0.10.5") is None
        aws.allow(group, "tcp", port - 5, port + 5, "127.0.10.0/24")  # applies from the next connection
        assert get(url, "127.0.10.5") == 200
        assert get(url, "127.0.0.2") is None


def test_revoking_a_rule_refuses_new_connections_while_open_ones_go_on(aws: Aws) -> None:
    port = free_port()
    with HttpEcho() as backend:
        group = aws.group("tracked", ("tcp", port, port, "127.0.0.0/8"))
        _, url = aws.alb("sg-revoke", backend, port, [group])
        host, _, listen_port = url.split("://")[1].rpartition(":")
        kept = http.client.HTTPConnection(host, int(listen_port), timeout=5, source_address=("127.0.0.1", 0))
        kept.request("GET", "/")
        assert kept.getresponse().read() is not None
        aws.revoke(group, "tcp", port, port, "127.0.0.0/8")
        assert get(url, "127.0.0.1") is None
        kept.request("GET", "/")  # connection tracking: the established connection is not cut
        assert kept.getresponse().status == 200
        kept.close()


def test_all_traffic_rules_and_set_security_groups(aws: Aws) -> None:
    port = free_port()
    with HttpEcho() as backend:
        closed = aws.group("closed")
        everything = aws.group("everything", ("-1", -1, -1, "127.0.0.0/8"))
        lb, url = aws.alb("sg-set", backend, port, [closed])
        assert get(url, "127.0.0.3") is None
        aws.elbv2.set_security_groups(LoadBalancerArn=lb, SecurityGroups=[everything])
        assert get(url, "127.0.0.3") == 200


def test_an_alb_without_groups_gets_the_default_group_which_admits_no_local_client(aws: Aws) -> None:
    port = free_port()
    with HttpEcho() as backend:
        lb, url = aws.alb("sg-default", backend, port, None)
        [described] = aws.elbv2.describe_load_balancers(LoadBalancerArns=[lb])["LoadBalancers"]
        [default] = described["SecurityGroups"]
        assert aws.ec2.describe_security_groups(GroupIds=[default])["SecurityGroups"][0]["GroupName"] == "default"
        assert get(url, "127.0.0.1") is None  # its one inbound rule admits only the group's own members
        aws.allow(default, "tcp", port, port, "127.0.0.1/32")
        assert get(url, "127.0.0.1") == 200


def test_a_rule_naming_a_prefix_list_admits_its_entries(aws: Aws) -> None:
    port = free_port()
    with HttpEcho() as backend:
        prefix_list = aws.ec2.create_managed_prefix_list(
            PrefixListName="office", AddressFamily="IPv4", MaxEntries=5,
            Entries=[{"Cidr": "127.0.10.0/24"}])["PrefixList"]["PrefixListId"]
        group = aws.ec2.create_security_group(GroupName="office", Description="office", VpcId=aws.vpc)["GroupId"]
        aws.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "PrefixListIds": [{"PrefixListId": prefix_list}]}])
        _, url = aws.alb("sg-prefix", backend, port, [group])
        assert get(url, "127.0.10.5") == 200
        assert get(url, "127.0.0.1") is None


def test_nlb_without_groups_filters_nothing_and_with_groups_enforces_them_on_tcp_and_udp(aws: Aws) -> None:
    with TcpEcho() as tcp_backend, UdpEcho(prefix=b"echo:") as udp_backend:
        open_lb = aws.elbv2.create_load_balancer(Name="nlb-open", Type="network", Subnets=aws.subnets
                                                 )["LoadBalancers"][0]["LoadBalancerArn"]
        tcp_group = aws.elbv2.create_target_group(Name="nlb-tcp", Protocol="TCP", Port=1, VpcId=aws.vpc,
                                                  TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        open_listener = aws.elbv2.create_listener(LoadBalancerArn=open_lb, Protocol="TCP", Port=free_port(),
                                                  DefaultActions=[{"Type": "forward", "TargetGroupArn": tcp_group}]
                                                  )["Listeners"][0]["ListenerArn"]
        aws.elbv2.register_targets(TargetGroupArn=tcp_group, Targets=[{"Id": "127.0.0.1", "Port": tcp_backend.port}])
        wait_healthy(aws.elbv2, tcp_group)
        assert _tcp_echo(listener_address(aws.url, open_listener), "127.0.0.9") == b"ping"

        port, udp_port = free_port(), free_port()
        group = aws.group("nlb", ("tcp", port, port, "127.0.0.1/32"), ("udp", udp_port, udp_port, "127.0.0.1/32"))
        guarded_lb = aws.elbv2.create_load_balancer(Name="nlb-guarded", Type="network", Subnets=aws.subnets,
                                                    SecurityGroups=[group])["LoadBalancers"][0]["LoadBalancerArn"]
        udp_group = aws.elbv2.create_target_group(Name="nlb-udp", Protocol="UDP", Port=1, VpcId=aws.vpc,
                                                  TargetType="ip", HealthCheckProtocol="TCP",
                                                  HealthCheckPort=str(tcp_backend.port)
                                                  )["TargetGroups"][0]["TargetGroupArn"]
        guarded_tcp = aws.elbv2.create_target_group(Name="nlb-tcp-guarded", Protocol="TCP", Port=1, VpcId=aws.vpc,
                                                    TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        tcp_listener = aws.elbv2.create_listener(LoadBalancerArn=guarded_lb, Protocol="TCP", Port=port,
                                                 DefaultActions=[{"Type": "forward", "TargetGroupArn": guarded_tcp}]
                                                 )["Listeners"][0]["ListenerArn"]
        udp_listener = aws.elbv2.create_listener(LoadBalancerArn=guarded_lb, Protocol="UDP", Port=udp_port,
                                                 DefaultActions=[{"Type": "forward", "TargetGroupArn": udp_group}]
                                                 )["Listeners"][0]["ListenerArn"]
        aws.elbv2.register_targets(TargetGroupArn=guarded_tcp, Targets=[{"Id": "127.0.0.1", "Port": tcp_backend.port}])
        aws.elbv2.register_targets(TargetGroupArn=udp_group, Targets=[{"Id": "127.0.0.1", "Port": udp_backend.port}])
        wait_healthy(aws.elbv2, guarded_tcp)
        wait_healthy(aws.elbv2, udp_group)
        tcp_address, udp_address = listener_address(aws.url, tcp_listener), listener_address(aws.url, udp_listener)
        assert _tcp_echo(tcp_address, "127.0.0.1") == b"ping"
        assert _tcp_echo(tcp_address, "127.0.0.9") is None
        assert _udp_echo(udp_address, "127.0.0.1") == b"echo:ping"
        assert _udp_echo(udp_address, "127.0.0.9") is None  # dropped silently, as EC2 drops it
        assert udp_backend.datagrams == 1


def _tcp_echo(address: tuple[str, int], source: str) -> bytes | None:
    """What the echo target sends back through the NLB to a client at ``source``; None: reset or closed."""
    try:
        with socket.create_connection(address, timeout=5, source_address=(source, 0)) as sock:
            sock.sendall(b"ping")
            return sock.recv(4) or None
    except ConnectionError:
        return None


def _udp_echo(address: tuple[str, int], source: str) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(0.5)
        sock.sendto(b"ping", address)
        try:
            return sock.recv(100)
        except TimeoutError:
            return None


def test_a_rule_naming_a_group_admits_the_addresses_of_its_member_instances(aws: Aws) -> None:
    port = free_port()
    with HttpEcho() as backend:
        members = aws.group("members")
        group = aws.ec2.create_security_group(GroupName="from-members", Description="x", VpcId=aws.vpc)["GroupId"]
        aws.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": members}]}])
        _, url = aws.alb("sg-members", backend, port, [group])
        assert get(url, "127.0.0.7") is None  # no member yet
        image = aws.ec2.describe_images()["Images"][0]["ImageId"]
        aws.ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroupIds=[members], TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "elbv2-emulator:address", "Value": "127.0.0.7"}]}])
        assert get(url, "127.0.0.7") == 200  # the instance's traffic comes from its address tag here
        assert get(url, "127.0.0.8") is None
