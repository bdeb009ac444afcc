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
