"""CreateTargetGroup & co. over boto3 against the live emulator.

References: API_CreateTargetGroup (health-check defaults per protocol), API_DescribeTargetGroups,
API_ModifyTargetGroup, API_DeleteTargetGroup; the echoed defaults as in API_CreateTargetGroup.
"""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_http_target_group_echoes_alb_health_check_defaults(elbv2, vpc_id):
    tg = elbv2.create_target_group(Name="web", Protocol="HTTP", Port=8080, VpcId=vpc_id)["TargetGroups"][0]
    assert re.fullmatch(r"arn:aws:elasticloadbalancing:us-east-1:\d{12}:targetgroup/web/[0-9a-f]{16}", tg["TargetGroupArn"])
    expected = {
        "TargetGroupName": "web", "Protocol": "HTTP", "Port": 8080, "VpcId": vpc_id, "HealthCheckProtocol": "HTTP",
        "HealthCheckPort": "traffic-port", "HealthCheckEnabled": True, "HealthCheckIntervalSeconds": 30,
        "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 2,
        "HealthCheckPath": "/", "Matcher": {"HttpCode": "200"}, "LoadBalancerArns": [], "TargetType": "instance",
        "ProtocolVersion": "HTTP1", "IpAddressType": "ipv4",
    }
    assert {k: v for k, v in tg.items() if k != "TargetGroupArn"} == expected


def test_tcp_target_group_echoes_nlb_defaults(elbv2, vpc_id):
    tg = elbv2.create_target_group(Name="tcp", Protocol="TCP", Port=5432, VpcId=vpc_id, TargetType="ip")["TargetGroups"][0]
    assert (tg["HealthCheckProtocol"], tg["HealthCheckTimeoutSeconds"], tg["HealthyThresholdCount"]) == ("TCP", 10, 5)
    assert "HealthCheckPath" not in tg and "Matcher" not in tg


def test_grpc_target_group_health_check_defaults(elbv2, vpc_id):
    tg = elbv2.create_target_group(Name="grpc", Protocol="HTTP", ProtocolVersion="GRPC", Port=50051, VpcId=vpc_id)["TargetGroups"][0]
    assert (tg["HealthCheckPath"], tg["Matcher"]) == ("/AWS.ALB/healthcheck", {"GrpcCode": "12"})


def test_lambda_target_group_has_no_port_and_checks_disabled(elbv2):
    tg = elbv2.create_target_group(Name="fn", TargetType="lambda")["TargetGroups"][0]
    assert tg["HealthCheckEnabled"] is False and "Port" not in tg and "Protocol" not in tg
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_target_group(Name="fn2", TargetType="lambda", Port=80)
    assert _error(excinfo) == ("ValidationError", "Port cannot be specified for target groups with target type 'lambda'")


def test_instance_target_group_needs_port(elbv2, vpc_id):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_target_group(Name="np", Protocol="HTTP", VpcId=vpc_id)
    assert _error(excinfo) == ("ValidationError", "A port must be specified")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 33, f"Target group name '{'x' * 33}' cannot be longer than '32' characters"),
        ("a_b", "Target group name 'a_b' can only contain characters that are alphanumeric characters or hyphens(-)"),
    ],
)
def test_name_rules_use_aws_messages(elbv2, vpc_id, name, message):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc_id)
    assert _error(excinfo) == ("ValidationError", message)


def test_http_timeout_must_be_smaller_than_interval(elbv2, vpc_id):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_target_group(
            Name="hc", Protocol="HTTP", Port=80, VpcId=vpc_id, HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=6
        )
    assert _error(excinfo) == ("ValidationError", "Health check timeout '6' must be smaller than the interval '5'")


def test_create_idempotent_else_duplicate_name(elbv2, vpc_id):
    first = elbv2.create_target_group(Name="dup", Protocol="HTTP", Port=80, VpcId=vpc_id)["TargetGroups"][0]
    again = elbv2.create_target_group(Name="dup", Protocol="HTTP", Port=80, VpcId=vpc_id)["TargetGroups"][0]
    assert again["TargetGroupArn"] == first["TargetGroupArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_target_group(Name="dup", Protocol="HTTP", Port=81, VpcId=vpc_id)
    assert _error(excinfo) == ("DuplicateTargetGroupName", "A target group with the specified name already exists.")


def test_describe_by_names_arns_and_not_found(elbv2, vpc_id):
    arn = elbv2.create_target_group(Name="a", Protocol="HTTP", Port=80, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]
    assert elbv2.describe_target_groups(Names=["a"])["TargetGroups"][0]["TargetGroupArn"] == arn
    with pytest.raises(ClientError) as excinfo:
        elbv2.describe_target_groups(Names=["missing"])
    assert _error(excinfo) == ("TargetGroupNotFound", "One or more target groups not found")


def test_modify_changes_health_check_settings_only(elbv2, vpc_id):
    arn = elbv2.create_target_group(Name="m", Protocol="HTTP", Port=80, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]
    tg = elbv2.modify_target_group(TargetGroupArn=arn, HealthCheckPath="/health", Matcher={"HttpCode": "200-299"})["TargetGroups"][0]
    assert (tg["HealthCheckPath"], tg["Matcher"], tg["HealthCheckIntervalSeconds"]) == ("/health", {"HttpCode": "200-299"}, 30)


def test_delete_in_use_is_resource_in_use_and_missing_succeeds(elbv2, subnets, vpc_id):
    arn = elbv2.create_target_group(Name="used", Protocol="HTTP", Port=80, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]
    lb = elbv2.create_load_balancer(Name="lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}])
    with pytest.raises(ClientError) as excinfo:
        elbv2.delete_target_group(TargetGroupArn=arn)
    assert _error(excinfo) == ("ResourceInUse", f"The target group '{arn}' is currently in use by a listener or a rule")
    assert elbv2.describe_target_groups(LoadBalancerArn=lb)["TargetGroups"][0]["TargetGroupArn"] == arn
    elbv2.delete_load_balancer(LoadBalancerArn=lb)
    elbv2.delete_target_group(TargetGroupArn=arn)
    elbv2.delete_target_group(TargetGroupArn=arn)  # already gone: still succeeds
