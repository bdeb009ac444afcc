"""`--listen-host` (what the Docker image uses): every listener binds one shared address instead of 127.1.x.y."""

from __future__ import annotations

import socket

import boto3
import requests

from emulator.server import EmulatorServer


def test_listeners_bind_the_listen_host() -> None:
    server = EmulatorServer(port=0, listen_host="127.0.0.1").start()
    try:
        elbv2 = boto3.client("elbv2", endpoint_url=server.url, region_name="us-east-1")
        ec2 = boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1")
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        zones: dict[str, str] = {}
        for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
            zones.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
        lb = elbv2.create_load_balancer(Name="shared-host", Subnets=sorted(zones.values())[:2])["LoadBalancers"][0]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "204"}}],
        )
        [entry] = requests.get(f"{server.url}/_emulator/listeners", timeout=5).json()
        assert entry["Address"] == f"127.0.0.1:{port}"
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 204
    finally:
        server.stop()
