"""Load-balancer DNS names resolve to the load balancer's own address (README "Where load balancers listen")."""

from __future__ import annotations

import socket

import boto3
import requests
from dnslib import QTYPE, RCODE, DNSRecord

from emulator.server import EmulatorServer
from emulator.testing import elb_dns


def _free_udp_and_tcp_port() -> int:
    """A port free for both protocols: the responder answers on UDP and TCP."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _alb_with_fixed_response(elbv2, subnets: list[str], port: int) -> dict:
    lb = elbv2.create_load_balancer(Name="dns-web", Subnets=subnets)["LoadBalancers"][0]
    elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=port,
        DefaultActions=[{"Type": "fixed-response",
                         "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain", "MessageBody": "hi"}}],
    )
    return lb


def test_elb_dns_helper_lets_code_use_the_dns_name(elbv2, subnets: list[str], emulator_url: str) -> None:
    lb = _alb_with_fixed_response(elbv2, subnets, 18580)
    with elb_dns(emulator_url):
        assert socket.getaddrinfo(lb["DNSName"], 18580)[0][4][0].startswith("127.1.")
        assert requests.get(f"http://{lb['DNSName']}:18580/", timeout=5).text == "hi"


def test_dns_responder_answers_a_records_and_nxdomain() -> None:
    dns_port = _free_udp_and_tcp_port()
    server = EmulatorServer(port=0, dns_port=dns_port).start()
    try:
        ec2 = boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1")
        by_zone: dict[str, str] = {}
        for subnet in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]:
            by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
        elbv2 = boto3.client("elbv2", endpoint_url=server.url, region_name="us-east-1")
        lb = _alb_with_fixed_response(elbv2, sorted(by_zone.values())[:2], 18581)
        address = requests.get(f"{server.url}/_emulator/dns", timeout=5).json()[lb["DNSName"].lower()]

        answer = DNSRecord.parse(DNSRecord.question(lb["DNSName"]).send("127.0.0.1", dns_port, timeout=5))
        assert [(QTYPE[rr.rtype], str(rr.rdata)) for rr in answer.rr] == [("A", address)]
        unknown = DNSRecord.parse(DNSRecord.question("nope.example.com").send("127.0.0.1", dns_port, timeout=5))
        assert unknown.header.rcode == RCODE.NXDOMAIN
    finally:
        server.stop()


def _own_non_loopback_address() -> str | None:
    """This machine's address on its default route, if it has one besides loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.123", 53))  # (TEST-NET-1: nothing is sent)
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_with_a_wildcard_listen_host_each_asker_gets_the_address_its_route_reaches() -> None:
    """The Docker image binds listeners on 0.0.0.0: a compose neighbour using the responder as its DNS server
    must be answered with the emulator's address on its network, not a loopback address (README "Docker")."""
    dns_port = _free_udp_and_tcp_port()
    server = EmulatorServer(host="0.0.0.0", port=0, dns_port=dns_port, listen_host="0.0.0.0").start()
    try:
        api = server.url.replace("0.0.0.0", "127.0.0.1")
        ec2 = boto3.client("ec2", endpoint_url=api, region_name="us-east-1")
        by_zone: dict[str, str] = {}
        for subnet in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]:
            by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
        elbv2 = boto3.client("elbv2", endpoint_url=api, region_name="us-east-1")
        port = _free_udp_and_tcp_port()
        lb = _alb_with_fixed_response(elbv2, sorted(by_zone.values())[:2], port)

        askers = ["127.0.0.1"] + [address for address in [_own_non_loopback_address()] if address]
        for asker in askers:  # (a query sent to an own address comes from that address)
            answer = DNSRecord.parse(DNSRecord.question(lb["DNSName"]).send(asker, dns_port, timeout=5))
            [(kind, address)] = [(QTYPE[rr.rtype], str(rr.rdata)) for rr in answer.rr]
            assert (kind, address) == ("A", asker)
            assert requests.get(f"http://{address}:{port}/", timeout=5).text == "hi"
    finally:
        server.stop()
