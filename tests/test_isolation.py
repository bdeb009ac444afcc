"""Resources are isolated per account (from the access key) and region (from the SigV4 scope), as on AWS."""

from __future__ import annotations

import boto3
import botocore.exceptions
import pytest


def _clients(url: str, account: str, region: str):
    session = boto3.session.Session(aws_access_key_id=account, aws_secret_access_key="x", region_name=region)
    return session.client("elbv2", endpoint_url=url), session.client("ec2", endpoint_url=url)


def _two_subnets(ec2) -> list[str]:
    by_zone: dict[str, str] = {}
    for subnet in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]:
        by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    return [by_zone[zone] for zone in sorted(by_zone)][:2]


@pytest.mark.parametrize(
    ("other_account", "other_region"),
    [("222222222222", "us-east-1"), ("111111111111", "eu-west-1")],
    ids=["other-account", "other-region"],
)
def test_same_name_in_another_scope_is_a_different_load_balancer(
    emulator_url: str, other_account: str, other_region: str
) -> None:
    elbv2_a, ec2_a = _clients(emulator_url, "111111111111", "us-east-1")
    elbv2_b, ec2_b = _clients(emulator_url, other_account, other_region)

    lb_a = elbv2_a.create_load_balancer(Name="shared-name", Subnets=_two_subnets(ec2_a))["LoadBalancers"][0]
    lb_b = elbv2_b.create_load_balancer(Name="shared-name", Subnets=_two_subnets(ec2_b))["LoadBalancers"][0]

    # A 12-digit access key id is the account; the credential scope's region is the region.
    assert lb_a["LoadBalancerArn"].split(":")[3:5] == ["us-east-1", "111111111111"]
    assert lb_b["LoadBalancerArn"].split(":")[3:5] == [other_region, other_account]
    assert other_region in lb_b["DNSName"]
    assert [lb["LoadBalancerArn"] for lb in elbv2_a.describe_load_balancers()["LoadBalancers"]] == [lb_a["LoadBalancerArn"]]
    assert [lb["LoadBalancerArn"] for lb in elbv2_b.describe_load_balancers()["LoadBalancers"]] == [lb_b["LoadBalancerArn"]]

    # Another scope's ARN is as unknown as a made-up one.
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        elbv2_b.describe_load_balancers(LoadBalancerArns=[lb_a["LoadBalancerArn"]])
    assert raised.value.response["Error"]["Code"] == "LoadBalancerNotFound"
    # Each LB has its own loopback address, whatever its scope.
    assert lb_a["DNSName"] != lb_b["DNSName"]
