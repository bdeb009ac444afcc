"""16 threads racing on the API never corrupt state or create duplicate names or priorities."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.exceptions

THREADS = 16


def _client(url: str):
    return boto3.client("elbv2", endpoint_url=url, region_name="us-east-1")


def test_racing_creates_with_one_name_yield_one_target_group(emulator_url: str, vpc_id: str) -> None:
    def create(port: int) -> str:
        try:
            _client(emulator_url).create_target_group(Name="contended", Protocol="HTTP", Port=port, VpcId=vpc_id)
            return "created"
        except botocore.exceptions.ClientError as error:
            return error.response["Error"]["Code"]

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(create, range(8000, 8000 + THREADS)))
    # Different ports under one name: exactly one wins, every other call is a DuplicateTargetGroupName.
    assert outcomes.count("created") == 1
    assert set(outcomes) == {"created", "DuplicateTargetGroupName"}
    groups = _client(emulator_url).describe_target_groups(Names=["contended"])["TargetGroups"]
    assert len(groups) == 1


def test_racing_rules_never_share_a_priority(emulator_url: str, subnets: list[str]) -> None:
    elbv2 = _client(emulator_url)
    lb = elbv2.create_load_balancer(Name="race", Subnets=subnets)["LoadBalancers"][0]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=18080,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]

    def create_rule(index: int) -> str:
        try:
            _client(emulator_url).create_rule(
                ListenerArn=listener["ListenerArn"],
                Priority=1 + index % 4,  # 16 callers fight over 4 priorities
                Conditions=[{"Field": "path-pattern", "Values": [f"/p{index}"]}],
                Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
            )
            return "created"
        except botocore.exceptions.ClientError as error:
            return error.response["Error"]["Code"]

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(create_rule, range(THREADS)))
    assert outcomes.count("created") == 4
    assert set(outcomes) == {"created", "PriorityInUse"}
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    priorities = [rule["Priority"] for rule in rules]
    assert sorted(priorities) == ["1", "2", "3", "4", "default"]
