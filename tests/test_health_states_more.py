"""The rarer target states, seen through DescribeTargetHealth and through real traffic.

References: AWS API_TargetHealth (unused/Target.InvalidState for a stopped instance, unused/Target.IpUnusable
for a load balancer's own IP, the NLB's ``unhealthy.draining``), API_AdministrativeOverride and
API_AnomalyDetection (in every description), and the NLB guide's "unhealthy target connection termination" (existing connections kept for the draining interval,
no new ones, then terminated).
"""

from __future__ import annotations

import pytest
import requests

from tests.backends import HttpEcho, TcpEcho
from tests.health_support import alb_with_group, health, listener_url, served_by, watch_until
from tests.nlb_support import connect, listener, listener_address, nlb, recv_exactly, target_group, wait_for

HEALTHY = {"State": "healthy"}
FAILED = {"State": "unhealthy", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"}
UNHEALTHY_DRAINING = {"State": "unhealthy.draining", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"}
STOPPED = {"State": "unused", "Reason": "Target.InvalidState", "Description": "Target is in the stopped state"}
IP_UNUSABLE = {
    "State": "unused", "Reason": "Target.IpUnusable",
    "Description": "The IP address cannot be used as a target, as it is in use by a load balancer",
}
NO_OVERRIDE = {
    "State": "no_override", "Reason": "AdministrativeOverride.NoOverride",
    "Description": "No override is currently active on target",
}


def _instance(ec2, subnet: str, name: str) -> str:
    tags = [{"Key": "elbv2-emulator:address", "Value": "127.0.0.1"}, {"Key": "Name", "Value": name}]
    return ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet,
                             TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])["Instances"][0]["InstanceId"]


def _instance_health(elbv2, tg: str, instance: str, port: int) -> dict[str, str]:
    targets = [{"Id": instance, "Port": port}]
    return elbv2.describe_target_health(TargetGroupArn=tg, Targets=targets)["TargetHealthDescriptions"][0]["TargetHealth"]


def test_stopped_instance_is_invalid_state_and_gets_no_traffic_until_started(elbv2, ec2, subnets, vpc_id, emulator_url):
    with HttpEcho("a") as a, HttpEcho("b") as b:
        first, second = _instance(ec2, subnets[0], "a"), _instance(ec2, subnets[0], "b")
        tg, arn = alb_with_group(elbv2, subnets, vpc_id, a.port, TargetType="instance")
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": first, "Port": a.port}, {"Id": second, "Port": b.port}])
        url = listener_url(emulator_url, arn)
        assert served_by(url) == ({"a", "b"}, {200})

        ec2.stop_instances(InstanceIds=[second])
        assert _instance_health(elbv2, tg, second, b.port) == STOPPED
        assert _instance_health(elbv2, tg, first, a.port) == HEALTHY
        wait_for(lambda: served_by(url, 4) == ({"a"}, {200}))  # the data plane sees the stop at its next check
        assert served_by(url, 20) == ({"a"}, {200})

        ec2.start_instances(InstanceIds=[second])
        wait_for(lambda: _instance_health(elbv2, tg, second, b.port) == HEALTHY)
        wait_for(lambda: served_by(url, 8)[0] == {"a", "b"})

        ec2.terminate_instances(InstanceIds=[second])
        assert _instance_health(elbv2, tg, second, b.port) == {**STOPPED, "Description": "Target is in the terminated state"}
        wait_for(lambda: served_by(url, 4) == ({"a"}, {200}))


def test_descriptions_carry_administrative_override_and_anomaly_detection_when_asked(
    elbv2, subnets, vpc_id, emulator_url
):
    with HttpEcho("web") as backend:
        tg, arn = alb_with_group(elbv2, subnets, vpc_id, backend.port)
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": backend.host}])
        assert served_by(listener_url(emulator_url, arn)) == ({"web"}, {200})
        plain = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"][0]
        assert plain["AdministrativeOverride"] == NO_OVERRIDE and "AnomalyDetection" not in plain
        for include in (["AnomalyDetection"], ["All"]):
            entry = elbv2.describe_target_health(TargetGroupArn=tg, Include=include)["TargetHealthDescriptions"][0]
            assert entry["AnomalyDetection"] == {"Result": "normal", "MitigationInEffect": "no"}
            assert entry["AdministrativeOverride"] == NO_OVERRIDE and entry["TargetHealth"] == HEALTHY
        # AWS detects anomalies on ALB (HTTP/HTTPS) groups only.
        tcp = target_group(elbv2, vpc_id, "tcp", ports=[backend.port])
        entry = elbv2.describe_target_health(TargetGroupArn=tcp, Include=["All"])["TargetHealthDescriptions"][0]
        assert "AnomalyDetection" not in entry and entry["AdministrativeOverride"] == NO_OVERRIDE


def test_load_balancer_own_ip_is_ip_unusable_and_never_routed_to(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("real") as backend:
        tg, arn = alb_with_group(elbv2, subnets, vpc_id, backend.port)
        lb = elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]["LoadBalancerArn"]
        dns_name = elbv2.describe_load_balancers(LoadBalancerArns=[lb])["LoadBalancers"][0]["DNSName"]
        own_ip = requests.get(f"{emulator_url}/_emulator/dns", timeout=5).json()[dns_name]
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": own_ip, "Port": 8080}])
        own = {"Id": own_ip, "Port": 8080}
        entry = elbv2.describe_target_health(TargetGroupArn=tg, Targets=[own])["TargetHealthDescriptions"][0]
        assert entry["TargetHealth"] == IP_UNUSABLE
        url = listener_url(emulator_url, arn)
        assert served_by(url, 3) == (set(), {503})  # its only target is unusable: nothing to route to
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": backend.host}])
        assert served_by(url, 10) == ({"real"}, {200})


@pytest.mark.timeout(30)
def test_nlb_unhealthy_draining_keeps_existing_flows_for_the_interval_then_unhealthy(
    emulator_url, elbv2, vpc_id, subnets
):
    attributes = {
        "target_health_state.unhealthy.connection_termination.enabled": "false",
        "target_health_state.unhealthy.draining_interval_seconds": "150",  # 1.5 s in fast timing
    }
    with TcpEcho(b"A") as a:
        b = TcpEcho(b"B").__enter__()
        tg = target_group(elbv2, vpc_id, "tcp", ports=[a.port, b.port], attributes=attributes, UnhealthyThresholdCount=2)
        address = listener_address(emulator_url, listener(elbv2, nlb(elbv2, subnets), tg))
        flow = _flow_to(address, b"B")
        b.__exit__(None, None, None)  # new connects are refused; the open one still echoes
        assert watch_until(elbv2, tg, b.port, UNHEALTHY_DRAINING)[-2:] == [HEALTHY, UNHEALTHY_DRAINING]
        flow.sendall(b"ping")
        assert recv_exactly(flow, 4) == b"ping"  # established flows go on
        assert {_greeting(address) for _ in range(10)} == {b"A"}  # no new ones
        watch_until(elbv2, tg, b.port, FAILED)
        assert _terminated(flow)  # then they are terminated


def test_nlb_unhealthy_without_draining_interval_goes_straight_to_unhealthy(emulator_url, elbv2, vpc_id, subnets):
    attributes = {"target_health_state.unhealthy.connection_termination.enabled": "false"}
    with TcpEcho(b"A") as a:
        b = TcpEcho(b"B").__enter__()
        tg = target_group(elbv2, vpc_id, "tcp", ports=[a.port, b.port], attributes=attributes, UnhealthyThresholdCount=2)
        listener(elbv2, nlb(elbv2, subnets), tg)
        b.__exit__(None, None, None)
        assert watch_until(elbv2, tg, b.port, FAILED) == [HEALTHY, FAILED]
        assert health(elbv2, tg, a.port) == HEALTHY


def _terminated(flow) -> bool:
    """The NLB reset (or closed) the flow: sending gets no echo back."""
    with flow:
        try:
            flow.sendall(b"ping")
            return flow.recv(65536) == b""
        except OSError:
            return True


def _greeting(address: tuple[str, int]) -> bytes:
    with connect(address) as sock:
        return recv_exactly(sock, 1)


def _flow_to(address: tuple[str, int], greeting: bytes):
    for _ in range(200):
        sock = connect(address)
        if recv_exactly(sock, 1) == greeting:
            return sock
        sock.close()
    raise AssertionError(f"no flow reached target {greeting!r}")
