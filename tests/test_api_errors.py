"""Bad input is never a 500, and a bug is AWS's InternalFailure error document, not an HTML page."""

from __future__ import annotations

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.control.context import HANDLERS
from tests.conftest import REGION


def test_set_rule_priorities_without_priority_is_validation_error(elbv2):
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/x/0123456789abcdef/0123456789abcdef/0123456789abcdef"
    with pytest.raises(ClientError) as excinfo:
        elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": arn}])
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_subnet_mapping_without_subnet_is_validation_error(elbv2):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name="lb", SubnetMappings=[{"AllocationId": "eipalloc-1"}])
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"


def test_unexpected_exception_is_internal_failure(emulator_url, monkeypatch):
    def broken(ctx, req):
        raise RuntimeError("a bug")

    monkeypatch.setitem(HANDLERS, "DescribeAccountLimits", broken)
    client = boto3.client("elbv2", endpoint_url=emulator_url, region_name=REGION, config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as excinfo:
        client.describe_account_limits()
    error = excinfo.value.response["Error"]
    assert (error["Code"], error["Type"]) == ("InternalFailure", "Receiver")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_other_query_services_still_reach_moto(emulator_url, ec2):
    """Classic ELB shares elbv2's endpoint and protocol; only the Version tells them apart."""
    elb = boto3.client("elb", endpoint_url=emulator_url, region_name=REGION)
    assert elb.describe_load_balancers()["LoadBalancerDescriptions"] == []
    assert ec2.describe_vpcs()["Vpcs"]


def test_unexpected_exception_outside_elbv2_is_internal_failure_xml(emulator_url, monkeypatch):
    import emulator.api.app as app_module

    def broken(moto_app):
        raise RuntimeError("a bug")

    monkeypatch.setattr(app_module, "_to_moto", broken)
    answer = requests.get(f"{emulator_url}/anything", timeout=10)
    assert answer.status_code == 500
    assert "<Code>InternalFailure</Code>" in answer.text
