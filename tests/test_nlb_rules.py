"""NLB listener rules and weighted target groups, with real traffic.

AWS: "Listener rules for your Network Load Balancer" (dual-stack NLBs; a source-ip condition naming the
source's IP address type, API Reference SourceIpConditionConfig: "For Network Load Balancers, use
IpAddressType"; rules are evaluated in priority order, lowest first, the default action last) and "Weighted
target groups" (NLB document history, November 19 2025: "default action with weighted target groups";
weights 0-999, blog "Network Load Balancers now support Weighted Target Groups"). Each new flow is routed
once; it keeps its group and target for its life.

The pinned botocore has no ``IpAddressType`` yet: rules are created with ``elbv2_with_ip_address_type``, a
client with the emulator's model extras. The listeners bind IPv4 loopback addresses, so every client here
is an IPv4 one (from 127.0.0.1, or from 127.0.0.2 where a second client is wanted).
"""

from __future__ import annotations

import socket
from collections import Counter

import pytest
from botocore.exceptions import ClientError

from tests.backends import TcpEcho, UdpEcho
from tests.conftest import REGION
from tests.nlb_support import elbv2_with_ip_address_type, listener_address, recv_exactly, target_group, wait_healthy


def _source(ip_type: str) -> list[dict]:
    return [{"Field": "source-ip", "SourceIpConfig": {"IpAddressType": ip_type}}]


def _forward(arn: str) -> list[dict]:
    return [{"Type": "forward", "TargetGroupArn": arn}]


def _weighted(*pairs: tuple[str, int]) -> list[dict]:
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": a, "Weight": w} for a, w in pairs]}}]


def _connect_from(address: tuple[str, int], source: str) -> socket.socket:
    sock = socket.socket()
    sock.settimeout(5)
    sock.bind((source, 0))
    sock.connect(address)
    return sock


def _greeting(address: tuple[str, int], source: str = "127.0.0.1") -> bytes:
    """The one-byte greeting of the target a new TCP connection from ``source`` reaches."""
    with _connect_from(address, source) as sock:
        return recv_exactly(sock, 1)


def _nlb(elbv2, subnets, ip_type: str = "ipv4") -> str:
    return elbv2.create_load_balancer(Name="nlb", Type="network", Subnets=subnets[:1],
                                      IpAddressType=ip_type)["LoadBalancers"][0]["LoadBalancerArn"]


def _listener(elbv2, lb: str, actions: list[dict], protocol: str = "TCP", port: int = 7100) -> str:
    return elbv2.create_listener(LoadBalancerArn=lb, Protocol=protocol, Port=port,
                                 DefaultActions=actions)["Listeners"][0]["ListenerArn"]


@pytest.fixture
def rules_client(emulator_url):
    return elbv2_with_ip_address_type(emulator_url, REGION)


# ---- listener rules: the source's IP address type, per new flow -----------------------------------------


def test_source_ip_rules_route_new_connections_in_priority_order(emulator_url, rules_client, vpc_id, subnets):
    elbv2 = rules_client
    with TcpEcho(b"A") as a, TcpEcho(b"B") as b, TcpEcho(b"C") as c, TcpEcho(b"D") as d:
        groups = {name: target_group(elbv2, vpc_id, name, ports=[echo.port]) for name, echo in
                  (("a", a), ("b", b), ("c", c), ("d", d))}
        arn = _listener(elbv2, _nlb(elbv2, subnets, "dualstack"), _forward(groups["a"]))
        elbv2.create_rule(ListenerArn=arn, Priority=30, Conditions=_source("ipv4"), Actions=_forward(groups["d"]))
        elbv2.create_rule(ListenerArn=arn, Priority=20, Conditions=_source("ipv4"), Actions=_forward(groups["c"]))
        elbv2.create_rule(ListenerArn=arn, Priority=10, Conditions=_source("ipv6"), Actions=_forward(groups["b"]))
        described = elbv2.describe_rules(ListenerArn=arn)["Rules"]
        assert [r["Conditions"] for r in described if not r["IsDefault"]] == [_source("ipv6"), _source("ipv4"),
                                                                             _source("ipv4")]
        for group in groups.values():
            wait_healthy(elbv2, group)
        address = listener_address(emulator_url, arn)
        # IPv4 clients: priority 10 (ipv6) does not match, 20 does before 30.
        assert {_greeting(address, source) for source in ("127.0.0.1", "127.0.0.2")} == {b"C"}


def test_a_modified_rule_routes_new_flows_while_open_ones_keep_their_target(emulator_url, rules_client, vpc_id, subnets):
    elbv2 = rules_client
    with TcpEcho(b"A") as a, TcpEcho(b"B") as b:
        tg_a, tg_b = target_group(elbv2, vpc_id, "a", ports=[a.port]), target_group(elbv2, vpc_id, "b", ports=[b.port])
        arn = _listener(elbv2, _nlb(elbv2, subnets, "dualstack"), _forward(tg_a))
        rule = elbv2.create_rule(ListenerArn=arn, Priority=1, Conditions=_source("ipv4"),
                                 Actions=_forward(tg_b))["Rules"][0]["RuleArn"]
        wait_healthy(elbv2, tg_a)
        wait_healthy(elbv2, tg_b)
        address = listener_address(emulator_url, arn)
        with _connect_from(address, "127.0.0.2") as open_flow:
            assert recv_exactly(open_flow, 1) == b"B"
            elbv2.modify_rule(RuleArn=rule, Conditions=_source("ipv6"))
            assert _greeting(address) == b"A"  # the rule no longer matches new IPv4 flows: the default action
            open_flow.sendall(b"still here")  # the open flow kept its target
            assert recv_exactly(open_flow, 10) == b"still here"
            elbv2.modify_rule(RuleArn=rule, Conditions=_source("ipv4"))
            assert _greeting(address) == b"B"
        elbv2.delete_rule(RuleArn=rule)
        assert _greeting(address) == b"A"


def test_udp_flows_follow_source_ip_rules(emulator_url, rules_client, vpc_id, subnets):
    elbv2 = rules_client
    with UdpEcho(b"A:") as a, UdpEcho(b"B:") as b, TcpEcho() as health:
        groups = [target_group(elbv2, vpc_id, name, protocol="UDP", ports=[echo.port], HealthCheckProtocol="TCP",
                               HealthCheckPort=str(health.port)) for name, echo in (("a", a), ("b", b))]
        arn = _listener(elbv2, _nlb(elbv2, subnets, "dualstack"), _forward(groups[0]), protocol="UDP", port=7101)
        elbv2.create_rule(ListenerArn=arn, Priority=1, Conditions=_source("ipv4"), Actions=_forward(groups[1]))
        for group in groups:
            wait_healthy(elbv2, group)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(b"hi", listener_address(emulator_url, arn))
            assert sock.recv(100) == b"B:hi"


def test_nlb_rules_take_an_ip_address_type_and_alb_rules_cidrs(rules_client, vpc_id, subnets):
    elbv2 = rules_client
    tg = target_group(elbv2, vpc_id, "a")
    nlb_listener = _listener(elbv2, _nlb(elbv2, subnets, "dualstack"), _forward(tg))
    cidrs = [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(ListenerArn=nlb_listener, Priority=1, Conditions=cidrs, Actions=_forward(tg))
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    both = [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"], "IpAddressType": "ipv4"}}]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(ListenerArn=nlb_listener, Priority=1, Conditions=both, Actions=_forward(tg))
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    alb = elbv2.create_load_balancer(Name="alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    http = target_group(elbv2, vpc_id, "http", protocol="HTTP")
    alb_listener = _listener(elbv2, alb, _forward(http), protocol="HTTP", port=7103)
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(ListenerArn=alb_listener, Priority=1, Conditions=_source("ipv4"), Actions=_forward(http))
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as excinfo:  # not one of the two types (the model's enum, checked by the server)
        elbv2.create_rule(ListenerArn=nlb_listener, Priority=1, Conditions=_source("dualstack"), Actions=_forward(tg))
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"


# ---- weighted target groups: split per new flow ---------------------------------------------------------


def test_weighted_default_action_splits_new_connections_by_weight(emulator_url, elbv2, vpc_id, subnets):
    with TcpEcho(b"A") as a, TcpEcho(b"B") as b:
        tg_a, tg_b = target_group(elbv2, vpc_id, "a", ports=[a.port]), target_group(elbv2, vpc_id, "b", ports=[b.port])
        arn = _listener(elbv2, _nlb(elbv2, subnets), _weighted((tg_a, 80), (tg_b, 20)))
        described = elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"][0]
        assert described["ForwardConfig"]["TargetGroups"] == [{"TargetGroupArn": tg_a, "Weight": 80},
                                                              {"TargetGroupArn": tg_b, "Weight": 20}]
        wait_healthy(elbv2, tg_a)
        wait_healthy(elbv2, tg_b)
        address = listener_address(emulator_url, arn)
        seen = Counter(_greeting(address) for _ in range(200))
    # Binomial(200, 0.2): mean 40, standard deviation 5.7; 15..70 is more than 4 deviations either side.
    assert seen[b"A"] + seen[b"B"] == 200, seen
    assert 15 <= seen[b"B"] <= 70, seen


def test_weight_zero_receives_nothing_and_udp_flows_keep_their_group(emulator_url, elbv2, vpc_id, subnets):
    with UdpEcho(b"A:") as a, UdpEcho(b"B:") as b, TcpEcho() as health:
        tg_a, tg_b = (target_group(elbv2, vpc_id, name, protocol="UDP", ports=[echo.port], HealthCheckProtocol="TCP",
                                   HealthCheckPort=str(health.port)) for name, echo in (("a", a), ("b", b)))
        arn = _listener(elbv2, _nlb(elbv2, subnets), _weighted((tg_a, 1), (tg_b, 0)), protocol="UDP", port=7102)
        wait_healthy(elbv2, tg_a)
        wait_healthy(elbv2, tg_b)
        address = listener_address(emulator_url, arn)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as kept:
            kept.settimeout(5)
            kept.sendto(b"1", address)
            assert kept.recv(100) == b"A:1"  # weight 0: never group B
            elbv2.modify_listener(ListenerArn=arn, DefaultActions=_weighted((tg_a, 0), (tg_b, 1)))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as new:
                new.settimeout(5)
                new.sendto(b"2", address)
                assert new.recv(100) == b"B:2"  # a new flow follows the new weights
            kept.sendto(b"3", address)
            assert kept.recv(100) == b"A:3"  # the open flow stays on the group it was given


def test_nlb_forward_action_takes_up_to_five_weighted_groups(elbv2, vpc_id, subnets):
    groups = [target_group(elbv2, vpc_id, f"tg-{i}") for i in range(6)]
    lb = _nlb(elbv2, subnets)
    with pytest.raises(ClientError) as excinfo:
        _listener(elbv2, lb, _weighted(*((arn, 1) for arn in groups)))
    assert excinfo.value.response["Error"]["Code"] == "TooManyTargetGroups"
    arn = _listener(elbv2, lb, _weighted(*((arn, 1) for arn in groups[:5])))
    assert len(elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"][0]
               ["ForwardConfig"]["TargetGroups"]) == 5

