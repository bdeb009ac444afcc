"""Gateway Load Balancers and GENEVE target groups, as far as the API goes (no GENEVE data plane).

References: API_CreateLoadBalancer (Scheme, SecurityGroups, IpAddressType, SubnetMappings), API_CreateListener
(Port, Protocol), API_CreateTargetGroup (GENEVE defaults), API_LoadBalancerAttribute, API_TargetGroupAttribute,
and the GWLB user guide's AWS CLI examples (create-load-balancer/-target-group/-listener output).
"""

from __future__ import annotations

import re

import pytest
import requests
from botocore.exceptions import ClientError

from tests.backends import TcpEcho

ARN = re.compile(r"^arn:aws:elasticloadbalancing:us-east-1:\d{12}:loadbalancer/gwy/appliances/[0-9a-f]{16}$")


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def _gwlb(elbv2, subnets, **kwargs):
    return elbv2.create_load_balancer(Name="appliances", Type="gateway", Subnets=subnets[:1], **kwargs)["LoadBalancers"][0]


def _geneve(elbv2, vpc_id, name: str = "fleet", **kwargs):
    return elbv2.create_target_group(Name=name, Protocol="GENEVE", Port=6081, VpcId=vpc_id, **kwargs)["TargetGroups"][0]


def test_create_gateway_has_gwy_arn_and_no_dns_scheme_or_groups(elbv2, subnets, vpc_id):
    lb = _gwlb(elbv2, subnets)
    assert ARN.match(lb["LoadBalancerArn"])
    assert (lb["Type"], lb["IpAddressType"], lb["VpcId"], lb["State"]) == ("gateway", "ipv4", vpc_id, {"Code": "provisioning"})
    for absent in ("DNSName", "CanonicalHostedZoneId", "Scheme", "SecurityGroups"):
        assert absent not in lb
    described = elbv2.describe_load_balancers(Names=["appliances"])["LoadBalancers"][0]
    assert described["LoadBalancerArn"] == lb["LoadBalancerArn"] and "DNSName" not in described


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"Scheme": "internal"}, "A scheme cannot be specified for load balancers of type 'gateway'"),
        ({"SecurityGroups": ["sg-12345678"]}, "Security groups cannot be specified for load balancers of type 'gateway'"),
    ],
)
def test_gateway_refuses_scheme_and_security_groups(elbv2, subnets, extra, message):
    with pytest.raises(ClientError) as excinfo:
        _gwlb(elbv2, subnets, **extra)
    assert _error(excinfo) == ("ValidationError", message)


def test_gateway_ip_address_types(elbv2, subnets):
    lb = _gwlb(elbv2, subnets, IpAddressType="dualstack")
    assert lb["IpAddressType"] == "dualstack"
    with pytest.raises(ClientError) as excinfo:
        elbv2.set_ip_address_type(LoadBalancerArn=lb["LoadBalancerArn"], IpAddressType="dualstack-without-public-ipv4")
    assert _error(excinfo)[0] == "InvalidConfigurationRequest"


def test_gateway_refuses_security_groups_and_elastic_ips(elbv2, subnets):
    lb = _gwlb(elbv2, subnets)
    with pytest.raises(ClientError) as excinfo:
        elbv2.set_security_groups(LoadBalancerArn=lb["LoadBalancerArn"], SecurityGroups=["sg-12345678"])
    assert _error(excinfo)[0] == "InvalidConfigurationRequest"
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(
            Name="eip", Type="gateway", SubnetMappings=[{"SubnetId": subnets[0], "AllocationId": "eipalloc-12345678"}]
        )
    assert _error(excinfo) == (
        "InvalidConfigurationRequest", "Elastic IP addresses cannot be specified for load balancers of type 'gateway'"
    )


def test_gateway_attributes_are_the_two_documented_keys(elbv2, subnets):
    arn = _gwlb(elbv2, subnets)["LoadBalancerArn"]
    attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    assert attributes == [
        {"Key": "deletion_protection.enabled", "Value": "false"},
        {"Key": "load_balancing.cross_zone.enabled", "Value": "false"},
    ]
    changed = elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "load_balancing.cross_zone.enabled", "Value": "true"}]
    )["Attributes"]
    assert {"Key": "load_balancing.cross_zone.enabled", "Value": "true"} in changed
    with pytest.raises(ClientError) as excinfo:
        elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "60"}]
        )
    assert _error(excinfo) == (
        "InvalidConfigurationRequest",
        "Load balancer attribute key 'idle_timeout.timeout_seconds' is not supported on load balancers with type 'gateway'",
    )


def test_geneve_target_group_health_check_defaults(elbv2, vpc_id):
    tg = _geneve(elbv2, vpc_id)
    expected = {
        "Protocol": "GENEVE", "Port": 6081, "VpcId": vpc_id, "TargetType": "instance", "HealthCheckProtocol": "TCP",
        "HealthCheckPort": "80", "HealthCheckEnabled": True, "HealthCheckIntervalSeconds": 10,
        "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 2,
    }
    assert {key: tg.get(key) for key in expected} == expected
    for absent in ("Matcher", "HealthCheckPath", "ProtocolVersion", "IpAddressType"):
        assert absent not in tg
    http = _geneve(elbv2, vpc_id, "http-checked", HealthCheckProtocol="HTTP", TargetType="ip")
    assert (http["HealthCheckPath"], http["Matcher"]) == ("/", {"HttpCode": "200-399"})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"Port": 6082}, "Port must be '6081' for target groups with the GENEVE protocol"),
        ({"TargetType": "alb"}, "Target groups with target type 'alb' must use the TCP protocol"),
        ({"HealthCheckProtocol": "GENEVE"}, "Health check protocol 'GENEVE' is not supported"),
        (
            {"HealthCheckProtocol": "HTTP", "Matcher": {"HttpCode": "404"}},
            "Health check matcher HTTP code '404' must be within '200-399' inclusive",
        ),
    ],
)
def test_geneve_target_group_validation(elbv2, vpc_id, extra, message):
    settings = {"Name": "bad", "Protocol": "GENEVE", "Port": 6081, "VpcId": vpc_id} | extra
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_target_group(**settings)
    assert _error(excinfo) == ("ValidationError", message)


def test_geneve_target_group_attributes(elbv2, vpc_id):
    arn = _geneve(elbv2, vpc_id)["TargetGroupArn"]
    assert elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"] == [
        {"Key": "deregistration_delay.timeout_seconds", "Value": "300"},
        {"Key": "stickiness.enabled", "Value": "false"},
        {"Key": "stickiness.type", "Value": "source_ip_dest_ip_proto"},
        {"Key": "target_failover.on_deregistration", "Value": "no_rebalance"},
        {"Key": "target_failover.on_unhealthy", "Value": "no_rebalance"},
    ]
    elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
        {"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "source_ip_dest_ip"},
        {"Key": "target_failover.on_deregistration", "Value": "rebalance"},
        {"Key": "target_failover.on_unhealthy", "Value": "rebalance"},
    ])
    for attributes, code, message in [
        ([{"Key": "target_failover.on_unhealthy", "Value": "no_rebalance"}], "ValidationError",
         "The values of 'target_failover.on_deregistration' and 'target_failover.on_unhealthy' must be the same"),
        ([{"Key": "stickiness.type", "Value": "source_ip"}], "ValidationError",  # 5-tuple is stickiness off
         "'stickiness.type' must be one of [source_ip_dest_ip_proto, source_ip_dest_ip]"),
        ([{"Key": "proxy_protocol_v2.enabled", "Value": "true"}], "InvalidConfigurationRequest",
         "The provided target group attribute is not supported"),
    ]:
        with pytest.raises(ClientError) as excinfo:
            elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=attributes)
        assert _error(excinfo) == (code, message)


def test_gateway_listener_has_no_port_or_protocol(elbv2, subnets, vpc_id):
    lb_arn = _gwlb(elbv2, subnets)["LoadBalancerArn"]
    tg_arn = _geneve(elbv2, vpc_id)["TargetGroupArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb_arn, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}]
    )["Listeners"][0]
    assert re.fullmatch(r"arn:aws:elasticloadbalancing:us-east-1:\d{12}:listener/gwy/appliances/[0-9a-f]{16}/[0-9a-f]{16}",
                        listener["ListenerArn"])
    assert "Port" not in listener and "Protocol" not in listener
    assert listener["DefaultActions"][0]["TargetGroupArn"] == tg_arn
    described = elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
    assert described == [listener]
    assert elbv2.describe_target_groups(TargetGroupArns=[tg_arn])["TargetGroups"][0]["LoadBalancerArns"] == [lb_arn]
    assert elbv2.describe_listener_attributes(ListenerArn=listener["ListenerArn"])["Attributes"] == []
    again = elbv2.create_listener(LoadBalancerArn=lb_arn, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
    assert again["Listeners"] == [listener]  # idempotent: one port-less listener per GWLB


def test_gateway_listeners_take_no_rules(elbv2, subnets, vpc_id):
    lb_arn = _gwlb(elbv2, subnets)["LoadBalancerArn"]
    tg_arn = _geneve(elbv2, vpc_id)["TargetGroupArn"]
    forward = [{"Type": "forward", "TargetGroupArn": tg_arn}]
    listener = elbv2.create_listener(LoadBalancerArn=lb_arn, DefaultActions=forward)["Listeners"][0]["ListenerArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(ListenerArn=listener, Priority=1, Actions=forward,
                          Conditions=[{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}])
    assert _error(excinfo) == (
        "InvalidConfigurationRequest",
        "Listener rules are supported only on Application Load Balancers and dual-stack Network Load Balancers",
    )
    rules = elbv2.describe_rules(ListenerArn=listener)["Rules"]
    assert [(r["Priority"], r["IsDefault"]) for r in rules] == [("default", True)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"Port": 6081}, "A port cannot be specified for gateway listeners"),
        ({"Protocol": "TCP"}, "A protocol cannot be specified for gateway listeners"),
    ],
)
def test_gateway_listener_refuses_port_and_protocol(elbv2, subnets, vpc_id, extra, message):
    lb_arn = _gwlb(elbv2, subnets)["LoadBalancerArn"]
    tg_arn = _geneve(elbv2, vpc_id)["TargetGroupArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(LoadBalancerArn=lb_arn, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}], **extra)
    assert _error(excinfo) == ("ValidationError", message)


def test_geneve_groups_pair_only_with_gateway_listeners(elbv2, subnets, vpc_id):
    gwlb_arn = _gwlb(elbv2, subnets)["LoadBalancerArn"]
    geneve_arn = _geneve(elbv2, vpc_id)["TargetGroupArn"]
    tcp_arn = elbv2.create_target_group(Name="tcp", Protocol="TCP", Port=80, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(LoadBalancerArn=gwlb_arn, DefaultActions=[{"Type": "forward", "TargetGroupArn": tcp_arn}])
    assert _error(excinfo) == (
        "IncompatibleProtocols",
        f"The target group '{tcp_arn}' with protocol 'TCP' is not compatible with gateway load balancer listeners",
    )
    nlb_arn = elbv2.create_load_balancer(Name="nlb", Type="network", Subnets=subnets[:1])["LoadBalancers"][0]["LoadBalancerArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(
            LoadBalancerArn=nlb_arn, Protocol="TCP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": geneve_arn}]
        )
    assert _error(excinfo)[0] == "IncompatibleProtocols"
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(LoadBalancerArn=gwlb_arn, DefaultActions=[
            {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}
        ])
    assert _error(excinfo) == (
        "InvalidLoadBalancerAction", "Load balancers of type 'gateway' support exactly one action of type 'forward'"
    )


def test_gateway_listener_is_not_bound_but_its_targets_are_health_checked(elbv2, subnets, vpc_id, emulator_url):
    """No GENEVE data plane: the listener is stored, never bound; its group's TCP checks still run (on the
    HealthCheckPort, as AWS checks appliances), so target_in_service works."""
    lb_arn = _gwlb(elbv2, subnets)["LoadBalancerArn"]
    with TcpEcho() as appliance:
        tg_arn = _geneve(elbv2, vpc_id, TargetType="ip", HealthCheckPort=str(appliance.port))["TargetGroupArn"]
        elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": "127.0.0.1"}])
        elbv2.create_listener(LoadBalancerArn=lb_arn, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
        elbv2.get_waiter("target_in_service").wait(
            TargetGroupArn=tg_arn, Targets=[{"Id": "127.0.0.1"}], WaiterConfig={"Delay": 1, "MaxAttempts": 20}
        )
    health = elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    assert [(h["Target"]["Id"], h["Target"]["Port"], h["HealthCheckPort"]) for h in health] == [
        ("127.0.0.1", 6081, str(appliance.port))
    ]
    bound = requests.get(f"{emulator_url}/_emulator/listeners", timeout=10).json()
    assert all(entry["LoadBalancerArn"] != lb_arn for entry in bound)
    elbv2.delete_load_balancer(LoadBalancerArn=lb_arn)
    assert elbv2.describe_target_groups(TargetGroupArns=[tg_arn])["TargetGroups"][0]["LoadBalancerArns"] == []
