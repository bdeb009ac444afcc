"""AWS's default quotas, enforced from ``api_models.quotas`` (AWS "Quotas for your Application Load Balancers" and "... Network Load Balancers").

Each test fills a quota through boto3 with its real default value, then asks for one more.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from api_models import quotas
from api_models.quotas import quota


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def alb(elbv2, subnets) -> str:
    return elbv2.create_load_balancer(Name="alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]


def _target_group(elbv2, vpc_id: str, name: str) -> str:
    return elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]


def _fixed(status: str = "200") -> list[dict]:
    return [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": status}}]


def test_too_many_load_balancers_per_type(elbv2, subnets):
    for index in range(quota("network-load-balancers")):
        elbv2.create_load_balancer(Name=f"nlb-{index}", Type="network", Subnets=subnets[:1])
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name="one-more", Type="network", Subnets=subnets[:1])
    assert _code(excinfo) == "TooManyLoadBalancers"
    elbv2.create_load_balancer(Name="an-alb", Subnets=subnets)  # application load balancers count separately


def test_too_many_listeners(elbv2, alb):
    for index in range(quota("listeners-per-application-load-balancer")):
        elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=21000 + index, DefaultActions=_fixed())
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=22000, DefaultActions=_fixed())
    assert _code(excinfo) == "TooManyListeners"


def test_too_many_rules(elbv2, alb):
    listener = elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=21000, DefaultActions=_fixed())["Listeners"][0]["ListenerArn"]
    condition = [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x"]}}]
    for priority in range(1, quota("rules-per-application-load-balancer") + 1):
        elbv2.create_rule(ListenerArn=listener, Priority=priority, Conditions=condition, Actions=_fixed())
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(ListenerArn=listener, Priority=1000, Conditions=condition, Actions=_fixed())
    assert _code(excinfo) == "TooManyRules"


def test_too_many_target_groups_per_forward_action(elbv2, vpc_id, alb):
    groups = [_target_group(elbv2, vpc_id, f"tg-{i}") for i in range(quota("target-groups-per-action-on-application-load-balancer") + 1)]
    forward = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": arn} for arn in groups]}}]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=21000, DefaultActions=forward)
    assert _code(excinfo) == "TooManyTargetGroups"


def test_too_many_unique_target_groups_per_load_balancer(elbv2, vpc_id, alb):
    limit, per_action = quota("target-groups-per-application-load-balancer"), quota("target-groups-per-action-on-application-load-balancer")
    groups = [_target_group(elbv2, vpc_id, f"tg-{i}") for i in range(limit + 1)]
    listener = elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=21000, DefaultActions=_fixed())["Listeners"][0]["ListenerArn"]
    condition = [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x"]}}]
    for priority, start in enumerate(range(0, limit, per_action), 1):
        chunk = groups[start:start + per_action]
        forward = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": arn} for arn in chunk]}}]
        elbv2.create_rule(ListenerArn=listener, Priority=priority, Conditions=condition, Actions=forward)
    with pytest.raises(ClientError) as excinfo:
        elbv2.modify_listener(ListenerArn=listener, DefaultActions=[{"Type": "forward", "TargetGroupArn": groups[-1]}])
    assert _code(excinfo) == "TooManyUniqueTargetGroupsPerLoadBalancer"


def test_too_many_targets_per_target_group(elbv2, vpc_id):
    arn = elbv2.create_target_group(Name="ips", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    limit = quota("targets-per-target-group")
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "10.0.0.1", "Port": port} for port in range(1, limit + 1)])
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "10.0.0.1", "Port": 1}])  # already registered: no change
    with pytest.raises(ClientError) as excinfo:
        elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "10.0.0.2", "Port": 80}])
    assert _code(excinfo) == "TooManyTargets"



@pytest.fixture
def raised_quotas(monkeypatch):
    """Sets ``ELBV2_EMULATOR_QUOTAS`` for the in-process server (it is read once, hence the cache reset)."""
    def apply(value: str) -> None:
        monkeypatch.setenv(quotas.OVERRIDES_VARIABLE, value)
        quotas._overrides.cache_clear()

    yield apply
    monkeypatch.undo()
    quotas._overrides.cache_clear()


def test_quotas_can_be_changed_like_service_quotas(elbv2, subnets, raised_quotas):
    raised_quotas("network-load-balancers=2")
    limits = {limit["Name"]: limit["Max"] for limit in elbv2.describe_account_limits()["Limits"]}
    assert (limits["network-load-balancers"], limits["application-load-balancers"]) == ("2", "50")
    for index in range(2):
        elbv2.create_load_balancer(Name=f"nlb-{index}", Type="network", Subnets=subnets[:1])
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name="nlb-2", Type="network", Subnets=subnets[:1])
    assert _code(excinfo) == "TooManyLoadBalancers"


def test_unknown_quota_name_is_refused(raised_quotas):
    raised_quotas("no-such-quota=1")
    with pytest.raises(ValueError, match="unknown quota 'no-such-quota'"):
        quotas.quota("target-groups")


def test_too_many_registrations_for_one_target_id(elbv2, vpc_id, alb, raised_quotas):
    """Lowered to 2 (default 1000, like targets per ALB, which would otherwise answer first)."""
    raised_quotas("target-id-registrations-per-application-load-balancer=2")
    tg = elbv2.create_target_group(Name="ips", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=21000, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": 1}, {"Id": "127.0.0.1", "Port": 2}])
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.2", "Port": 1}])  # another Id is fine
    with pytest.raises(ClientError) as excinfo:
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": 3}])
    assert _code(excinfo) == "TooManyRegistrationsForTargetId"
