"""Targets, tags and attributes over boto3 against the live emulator.

References: API_RegisterTargets, API_DeregisterTargets, API_DescribeTargetHealth and API_TargetHealth
(states and reason codes), API_AddTags (50 tags per resource), API_DescribeLoadBalancerAttributes,
API_ModifyTargetGroupAttributes, API_DescribeListenerAttributes.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.backends import HttpEcho


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def ip_tg(elbv2, vpc_id) -> str:
    return elbv2.create_target_group(Name="ips", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]


def _health(elbv2, tg: str, **kwargs) -> list[dict]:
    return elbv2.describe_target_health(TargetGroupArn=tg, **kwargs)["TargetHealthDescriptions"]


def test_unused_target_group_reports_not_in_use(elbv2, ip_tg):
    elbv2.register_targets(TargetGroupArn=ip_tg, Targets=[{"Id": "127.0.0.1", "Port": 8081}])
    assert _health(elbv2, ip_tg) == [{
        "Target": {"Id": "127.0.0.1", "Port": 8081}, "HealthCheckPort": "8081",
        "TargetHealth": {
            "State": "unused", "Reason": "Target.NotInUse",
            "Description": "Target group is not configured to receive traffic from the load balancer",
        },
        "AdministrativeOverride": {
            "State": "no_override", "Reason": "AdministrativeOverride.NoOverride",
            "Description": "No override is currently active on target",
        },
    }]


def test_registration_port_defaults_to_target_group_port(elbv2, ip_tg):
    elbv2.register_targets(TargetGroupArn=ip_tg, Targets=[{"Id": "127.0.0.2"}])
    assert _health(elbv2, ip_tg)[0]["Target"] == {"Id": "127.0.0.2", "Port": 80}


def test_explicit_query_for_unregistered_target_is_not_registered(elbv2, ip_tg):
    entry = _health(elbv2, ip_tg, Targets=[{"Id": "127.0.0.9", "Port": 80}])[0]
    assert entry["TargetHealth"] == {
        "State": "unused", "Reason": "Target.NotRegistered", "Description": "Target is not registered to the target group",
    }


def test_in_service_target_and_waiter(elbv2, subnets, ip_tg):
    lb = elbv2.create_load_balancer(Name="lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": ip_tg}])
    with HttpEcho() as backend:
        target = {"Id": "127.0.0.1", "Port": backend.port}
        elbv2.register_targets(TargetGroupArn=ip_tg, Targets=[target])
        elbv2.get_waiter("target_in_service").wait(TargetGroupArn=ip_tg, Targets=[target], WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        assert _health(elbv2, ip_tg)[0]["TargetHealth"] == {"State": "healthy"}


def test_deregister_drains_then_target_is_gone(elbv2, ip_tg):
    target = {"Id": "127.0.0.3", "Port": 80}
    elbv2.register_targets(TargetGroupArn=ip_tg, Targets=[target])
    elbv2.deregister_targets(TargetGroupArn=ip_tg, Targets=[target])
    assert _health(elbv2, ip_tg)[0]["TargetHealth"]["State"] == "draining"
    elbv2.modify_target_group_attributes(TargetGroupArn=ip_tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}])
    assert _health(elbv2, ip_tg) == []
    elbv2.get_waiter("target_deregistered").wait(TargetGroupArn=ip_tg, Targets=[target], WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    elbv2.deregister_targets(TargetGroupArn=ip_tg, Targets=[target])  # not registered: still succeeds


def test_stopped_instance_cannot_be_registered(elbv2, ec2, vpc_id):
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[instance])
    tg = elbv2.create_target_group(Name="inst", Protocol="HTTP", Port=80, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": instance}])
    assert _error(excinfo) == (
        "InvalidTarget", f"The following targets are not in a running state and cannot be registered: '{instance}'",
    )


def test_describe_target_health_of_missing_group(elbv2, ip_tg):
    elbv2.delete_target_group(TargetGroupArn=ip_tg)
    with pytest.raises(ClientError) as excinfo:
        _health(elbv2, ip_tg)
    assert _error(excinfo) == ("TargetGroupNotFound", "One or more target groups not found")


def test_tags_add_describe_remove_and_limits(elbv2, subnets, ip_tg):
    lb = elbv2.create_load_balancer(Name="lb", Subnets=subnets, Tags=[{"Key": "env", "Value": "dev"}])["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.add_tags(ResourceArns=[lb, ip_tg], Tags=[{"Key": "team", "Value": "a"}])
    described = elbv2.describe_tags(ResourceArns=[lb, ip_tg])["TagDescriptions"]
    assert described == [
        {"ResourceArn": lb, "Tags": [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "a"}]},
        {"ResourceArn": ip_tg, "Tags": [{"Key": "team", "Value": "a"}]},
    ]
    elbv2.remove_tags(ResourceArns=[lb], TagKeys=["env"])
    assert elbv2.describe_tags(ResourceArns=[lb])["TagDescriptions"][0]["Tags"] == [{"Key": "team", "Value": "a"}]
    with pytest.raises(ClientError) as excinfo:
        elbv2.add_tags(ResourceArns=[lb], Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert _error(excinfo)[0] == "TooManyTags"
    with pytest.raises(ClientError) as excinfo:
        elbv2.add_tags(ResourceArns=[lb], Tags=[{"Key": "x", "Value": "1"}, {"Key": "x", "Value": "2"}])
    assert _error(excinfo)[0] == "DuplicateTagKeys"


def test_alb_attributes_every_default_key(elbv2, subnets):
    lb = elbv2.create_load_balancer(Name="lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb)["Attributes"]}
    assert attributes["idle_timeout.timeout_seconds"] == "60"
    assert attributes["routing.http2.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] == "defensive"
    assert attributes["client_keep_alive.seconds"] == "3600"
    assert attributes["access_logs.s3.bucket"] == ""
    assert len(attributes) == 24


def test_load_balancer_attribute_errors_match_aws(elbv2, subnets):
    lb = elbv2.create_load_balancer(Name="nlb", Type="network", Subnets=subnets[:1])["LoadBalancers"][0]["LoadBalancerArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "30"}])
    assert _error(excinfo) == (
        "InvalidConfigurationRequest",
        "Load balancer attribute key 'idle_timeout.timeout_seconds' is not supported on load balancers with type 'network'",
    )
    with pytest.raises(ClientError) as excinfo:
        elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[{"Key": "bogus", "Value": "1"}])
    assert _error(excinfo) == ("ValidationError", "Load balancer attribute key 'bogus' is not recognized")


def test_modify_returns_full_set_and_checks_ranges(elbv2, subnets, ip_tg):
    lb = elbv2.create_load_balancer(Name="lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    result = elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "120"}])
    assert {"Key": "idle_timeout.timeout_seconds", "Value": "120"} in result["Attributes"] and len(result["Attributes"]) == 24
    with pytest.raises(ClientError) as excinfo:
        elbv2.modify_target_group_attributes(TargetGroupArn=ip_tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "4000"}])
    assert _error(excinfo) == ("ValidationError", "'deregistration_delay.timeout_seconds' value '4000' must be between '0-3600' inclusive")
    with pytest.raises(ClientError) as excinfo:
        elbv2.modify_target_group_attributes(TargetGroupArn=ip_tg, Attributes=[{"Key": "proxy_protocol_v2.enabled", "Value": "true"}])
    assert _error(excinfo) == ("InvalidConfigurationRequest", "The provided target group attribute is not supported")


def test_target_group_attribute_defaults(elbv2, ip_tg):
    attributes = {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(TargetGroupArn=ip_tg)["Attributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == "300"
    assert attributes["stickiness.type"] == "lb_cookie"
    assert attributes["load_balancing.algorithm.type"] == "round_robin"


def test_http_listener_attributes_and_modify(elbv2, subnets, ip_tg):
    lb = elbv2.create_load_balancer(Name="lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": ip_tg}]
    )["Listeners"][0]["ListenerArn"]
    result = elbv2.modify_listener_attributes(
        ListenerArn=listener, Attributes=[{"Key": "routing.http.response.server.enabled", "Value": "false"}]
    )["Attributes"]
    assert {"Key": "routing.http.response.server.enabled", "Value": "false"} in result
