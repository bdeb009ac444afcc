"""--state-dir: every acknowledged change survives a restart, even `kill -9` right after the answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import requests

from tests.alb_support import free_port
from tests.server_process import emulator_process


@contextmanager
def _serve(state_dir: Path, port: int) -> Iterator[str]:
    with emulator_process("--state-dir", str(state_dir), port=port) as (url, _):
        yield url


def _subnets(ec2) -> list[str]:
    by_zone: dict[str, str] = {}
    for subnet in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]:
        by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    return [by_zone[zone] for zone in sorted(by_zone)][:2]


def test_everything_acknowledged_survives_kill_9(tmp_path: Path) -> None:
    port = free_port()
    with _serve(tmp_path, port) as url:
        elbv2 = boto3.client("elbv2", endpoint_url=url, region_name="us-east-1")
        ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1")
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        lb = elbv2.create_load_balancer(Name="durable", Subnets=_subnets(ec2))["LoadBalancers"][0]
        tg = elbv2.create_target_group(Name="durable-tg", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
            "TargetGroups"
        ][0]
        listener = elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=free_port(),
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
        )["Listeners"][0]
        elbv2.add_tags(ResourceArns=[lb["LoadBalancerArn"]], Tags=[{"Key": "team", "Value": "edge"}])
        elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": 9}])
        # The last call was acknowledged; the server is now killed with SIGKILL by _serve.

    with _serve(tmp_path, port) as url:
        elbv2 = boto3.client("elbv2", endpoint_url=url, region_name="us-east-1")
        restored = elbv2.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])["LoadBalancers"][0]
        assert restored["DNSName"] == lb["DNSName"]
        assert elbv2.describe_listeners(ListenerArns=[listener["ListenerArn"]])["Listeners"][0]["Port"] == listener["Port"]
        tags = elbv2.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
        assert {"Key": "team", "Value": "edge"} in tags
        health = elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
        assert [(d["Target"]["Id"], d["Target"]["Port"]) for d in health] == [("127.0.0.1", 9)]
        # The listener is bound again after the restart.
        bound = requests.get(f"{url}/_emulator/listeners", timeout=5).json()
        assert [entry["ListenerArn"] for entry in bound] == [listener["ListenerArn"]]
