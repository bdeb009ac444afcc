"""DescribeSSLPolicies, DescribeAccountLimits, capacity reservations and IPAM pools through boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from api_models.quotas import ACCOUNT_LIMITS
from api_models.ssl_policies import SSL_POLICIES

REQUIRED_POLICIES = [
    "ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS-1-0-2015-04", "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-FS-1-1-2019-08", "ELBSecurityPolicy-FS-1-2-2019-08", "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10", "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06", "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06", "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
]


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def test_every_required_policy_is_described(elbv2) -> None:
    policies = {p["Name"]: p for p in elbv2.describe_ssl_policies()["SslPolicies"]}
    assert set(REQUIRED_POLICIES) <= set(policies)
    default = policies["ELBSecurityPolicy-2016-08"]
    assert default["SslProtocols"] == ["TLSv1", "TLSv1.1", "TLSv1.2"]
    assert default["Ciphers"][0] == {"Name": "ECDHE-ECDSA-AES128-GCM-SHA256", "Priority": 1}
    assert default["SupportedLoadBalancerTypes"] == ["application", "network"]
    assert policies["ELBSecurityPolicy-TLS13-1-3-2021-06"]["SslProtocols"] == ["TLSv1.3"]


def test_names_filter_and_not_found(elbv2) -> None:
    named = elbv2.describe_ssl_policies(Names=["ELBSecurityPolicy-TLS13-1-2-2021-06"])["SslPolicies"]
    assert [p["Name"] for p in named] == ["ELBSecurityPolicy-TLS13-1-2-2021-06"]
    assert [c["Name"] for c in named[0]["Ciphers"]][:3] == [
        "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    ]
    with pytest.raises(elbv2.exceptions.SSLPolicyNotFoundException):
        elbv2.describe_ssl_policies(Names=["ELBSecurityPolicy-Nope"])


def test_load_balancer_type_filter(elbv2) -> None:
    assert len(elbv2.describe_ssl_policies(LoadBalancerType="network")["SslPolicies"]) == len(SSL_POLICIES)
    assert elbv2.describe_ssl_policies(LoadBalancerType="gateway")["SslPolicies"] == []


def test_paginator_walks_every_policy(elbv2) -> None:
    pages = list(elbv2.get_paginator("describe_ssl_policies").paginate(PaginationConfig={"PageSize": 5}))
    assert all(len(page["SslPolicies"]) <= 5 for page in pages)
    assert "NextMarker" not in pages[-1]
    assert [p["Name"] for page in pages for p in page["SslPolicies"]] == list(SSL_POLICIES)
    with pytest.raises(ClientError) as error:
        elbv2.describe_ssl_policies(PageSize=401)
    assert _code(error) == "ValidationError"


def test_account_limits(elbv2) -> None:
    limits = {limit["Name"]: limit["Max"] for limit in elbv2.describe_account_limits()["Limits"]}
    assert limits["application-load-balancers"] == "50"
    assert limits["target-groups"] == "3000"
    assert limits["rules-per-application-load-balancer"] == "100"
    assert limits["targets-per-availability-zone-per-network-load-balancer"] == "500"
    pages = list(elbv2.get_paginator("describe_account_limits").paginate(PaginationConfig={"PageSize": 10}))
    assert sum(len(p["Limits"]) for p in pages) == len(ACCOUNT_LIMITS)


@pytest.fixture
def alb_arn(elbv2, subnets: list[str]) -> str:
    return elbv2.create_load_balancer(Name="cap", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]


def test_capacity_reservation(elbv2, alb_arn: str) -> None:
    empty = elbv2.describe_capacity_reservation(LoadBalancerArn=alb_arn)
    assert "MinimumLoadBalancerCapacity" not in empty
    assert empty["DecreaseRequestsRemaining"] == 2
    reserved = elbv2.modify_capacity_reservation(LoadBalancerArn=alb_arn, MinimumLoadBalancerCapacity={"CapacityUnits": 200})
    assert reserved["MinimumLoadBalancerCapacity"] == {"CapacityUnits": 200}
    assert {s["State"]["Code"] for s in reserved["CapacityReservationState"]} == {"provisioned"}
    assert sum(s["EffectiveCapacityUnits"] for s in reserved["CapacityReservationState"]) == 200
    assert elbv2.describe_capacity_reservation(LoadBalancerArn=alb_arn)["MinimumLoadBalancerCapacity"] == {"CapacityUnits": 200}

    elbv2.modify_capacity_reservation(LoadBalancerArn=alb_arn, MinimumLoadBalancerCapacity={"CapacityUnits": 100})
    reset = elbv2.modify_capacity_reservation(LoadBalancerArn=alb_arn, ResetCapacityReservation=True)
    assert reset["DecreaseRequestsRemaining"] == 0
    elbv2.modify_capacity_reservation(LoadBalancerArn=alb_arn, MinimumLoadBalancerCapacity={"CapacityUnits": 300})
    with pytest.raises(ClientError) as error:  # a third decrease within a day
        elbv2.modify_capacity_reservation(LoadBalancerArn=alb_arn, MinimumLoadBalancerCapacity={"CapacityUnits": 10})
    assert _code(error) == "CapacityDecreaseRequestLimitExceeded"


def test_capacity_reservation_errors(elbv2, alb_arn: str) -> None:
    with pytest.raises(elbv2.exceptions.CapacityUnitsLimitExceededException):
        elbv2.modify_capacity_reservation(LoadBalancerArn=alb_arn, MinimumLoadBalancerCapacity={"CapacityUnits": 15001})
    with pytest.raises(ClientError) as error:
        elbv2.modify_capacity_reservation(LoadBalancerArn=alb_arn)
    assert _code(error) == "ValidationError"
    gone = alb_arn[:-1] + ("0" if alb_arn[-1] != "0" else "1")
    with pytest.raises(elbv2.exceptions.LoadBalancerNotFoundException):
        elbv2.describe_capacity_reservation(LoadBalancerArn=gone)


def test_modify_ip_pools(elbv2, alb_arn: str) -> None:
    pools = elbv2.modify_ip_pools(LoadBalancerArn=alb_arn, IpamPools={"Ipv4IpamPoolId": "ipam-pool-0123456789abcdef0"})
    assert pools["IpamPools"] == {"Ipv4IpamPoolId": "ipam-pool-0123456789abcdef0"}
    described = elbv2.describe_load_balancers(LoadBalancerArns=[alb_arn])["LoadBalancers"][0]
    assert described["IpamPools"] == {"Ipv4IpamPoolId": "ipam-pool-0123456789abcdef0"}
    assert "IpamPools" not in elbv2.modify_ip_pools(LoadBalancerArn=alb_arn, RemoveIpamPools=["ipv4"])


def test_resource_policy_of_load_balancer(elbv2, alb_arn: str) -> None:
    assert "Policy" not in elbv2.get_resource_policy(ResourceArn=alb_arn)


def test_aws_cli_describe_ssl_policies_and_limits(emulator_url: str) -> None:
    """The AWS CLI (botocore underneath, but its own paging and output) sees the same policies and limits."""
    import json
    import os
    import subprocess

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    base = ["aws", "--endpoint-url", emulator_url, "--output", "json", "elbv2"]
    policies = json.loads(subprocess.run(
        [*base, "describe-ssl-policies"], env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout)["SslPolicies"]
    assert [p["Name"] for p in policies] == list(SSL_POLICIES)
    # PageSize is not the paginator's limit key in this model, so the CLI treats it as manual paging.
    page = json.loads(subprocess.run(
        [*base, "describe-ssl-policies", "--page-size", "4"], env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout)
    assert len(page["SslPolicies"]) == 4 and page["NextMarker"]
    missing = subprocess.run([*base, "describe-ssl-policies", "--names", "Nope"], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "SSLPolicyNotFound" in missing.stderr
    limits = json.loads(subprocess.run(
        [*base, "describe-account-limits"], env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout)["Limits"]
    assert {"Name": "network-load-balancers", "Max": "50"} in limits
