"""Health checks of ALB (HTTP) target groups against real backends, seen through DescribeTargetHealth.

References: AWS API_TargetHealth (states, reason codes, descriptions), "Health checks for Application Load
Balancer target groups" (state machine, request format, Matcher forms, thresholds), boto3's default
``target_in_service`` / ``target_deregistered`` waiters (Delay 15 s: one poll must be enough).
"""

from __future__ import annotations

import time

import boto3

from emulator.dataplane.selection.algorithms import slow_start_factor
from emulator.server import EmulatorServer
from emulator.timing import Timing
from tests.backends import HttpEcho
from tests.health_support import RecordingBackend, alb_with_group, health, listener_url, served, served_by, watch_until

HEALTHY = {"State": "healthy"}
INITIAL = {"State": "initial", "Reason": "Elb.InitialHealthChecking", "Description": "Initial health checks in progress"}
TIMEOUT = {"State": "unhealthy", "Reason": "Target.Timeout", "Description": "Request timed out"}
FAILED = {"State": "unhealthy", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"}


def mismatch(code: int) -> dict[str, str]:
    return {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch", "Description": f"Health checks failed with these codes: [{code}]"}


def count_calls(client, operation: str) -> list[int]:
    calls = [0]

    def count(**_: object) -> None:
        calls[0] += 1

    client.meta.events.register(f"before-call.elastic-load-balancing-v2.{operation}", count)
    return calls


def test_waiter_succeeds_on_first_poll_and_check_request_is_awss(elbv2, subnets, vpc_id):
    recorder = RecordingBackend()
    with HttpEcho() as traffic:
        tg, listener = alb_with_group(elbv2, subnets, vpc_id, traffic.port, HealthCheckPort=str(recorder.port), HealthCheckPath="/ping")
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
        polls = count_calls(elbv2, "DescribeTargetHealth")
        elbv2.get_waiter("target_in_service").wait(TargetGroupArn=tg)  # default config: 15 s between polls
        assert polls == [1]
        entry = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"][0]
        assert entry["HealthCheckPort"] == str(recorder.port)
        assert traffic.requests == 0  # the numeric HealthCheckPort is checked, not the traffic port
    port = recorder.port
    recorder.close()
    head = recorder.requests[0].decode()
    lines = head.split("\r\n")
    assert lines[0] == "GET /ping HTTP/1.1"
    assert f"Host: 127.0.0.1:{port}" in lines
    assert "Connection: close" in lines and "User-Agent: ELB-HealthChecker/2.0" in lines


def test_https_check_does_not_verify_the_target_certificate(elbv2, subnets, vpc_id):
    recorder = RecordingBackend(tls=True)
    with HttpEcho() as traffic:
        tg, _ = alb_with_group(elbv2, subnets, vpc_id, traffic.port, HealthCheckProtocol="HTTPS", HealthCheckPort=str(recorder.port))
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
        assert health(elbv2, tg, traffic.port) == HEALTHY
    recorder.close()
    assert recorder.requests[0].startswith(b"GET / HTTP/1.1\r\n")


def test_state_and_reason_follow_the_backend(elbv2, subnets, vpc_id):
    with HttpEcho() as backend:
        tg, listener = alb_with_group(elbv2, subnets, vpc_id, backend.port, HealthyThresholdCount=2, UnhealthyThresholdCount=2)
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
        assert health(elbv2, tg, backend.port) == HEALTHY
        backend.status = 404
        assert watch_until(elbv2, tg, backend.port, mismatch(404)) == [HEALTHY, mismatch(404)]
        backend.status, backend.delay = 200, 1.0  # slower than the 0.25 s fast-timing timeout
        assert watch_until(elbv2, tg, backend.port, TIMEOUT) == [mismatch(404), TIMEOUT]
        backend.delay = 0.0
        assert watch_until(elbv2, tg, backend.port, HEALTHY) == [TIMEOUT, HEALTHY]
        backend.stop()
        assert watch_until(elbv2, tg, backend.port, FAILED) == [HEALTHY, FAILED]


def test_failing_target_stays_initial_until_unhealthy_threshold(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        backend.status = 500
        # Interval 100 s -> 1 s in fast timing: the window between the first and second check is wide.
        tg, listener = alb_with_group(elbv2, subnets, vpc_id, backend.port, HealthCheckIntervalSeconds=100, UnhealthyThresholdCount=2)
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
        assert health(elbv2, tg, backend.port) == INITIAL
        url = listener_url(emulator_url, listener)
        assert served_by(url, 2) == (set(), {503})  # all targets initial: nothing to route to
        assert watch_until(elbv2, tg, backend.port, mismatch(500)) == [INITIAL, mismatch(500)]
        assert served_by(url, 2) == ({"backend"}, {500})  # all unhealthy: fail open


def test_matcher_lists_and_ranges_and_modify_applies_on_next_check(elbv2, subnets, vpc_id):
    with HttpEcho() as backend:
        backend.status = 202
        tg, listener = alb_with_group(elbv2, subnets, vpc_id, backend.port, Matcher={"HttpCode": "200,202"}, HealthyThresholdCount=2)
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
        assert health(elbv2, tg, backend.port) == HEALTHY
        elbv2.modify_target_group(TargetGroupArn=tg, Matcher={"HttpCode": "200"})
        watch_until(elbv2, tg, backend.port, mismatch(202))
        elbv2.modify_target_group(TargetGroupArn=tg, Matcher={"HttpCode": "200-299"})
        watch_until(elbv2, tg, backend.port, HEALTHY)


def test_routing_takes_only_healthy_targets_and_fails_open(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("a") as a, HttpEcho("b") as b:
        tg, listener = alb_with_group(elbv2, subnets, vpc_id, a.port)
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": a.port}, {"Id": "127.0.0.1", "Port": b.port}])
        url = listener_url(emulator_url, listener)
        assert served_by(url) == ({"a", "b"}, {200})
        a.status = 500
        watch_until(elbv2, tg, a.port, mismatch(500))
        assert served_by(url) == ({"b"}, {200})
        b.status = 503
        watch_until(elbv2, tg, b.port, mismatch(503))
        assert served_by(url) == ({"a", "b"}, {500, 503})  # none healthy: fail open to all


def test_minimum_healthy_targets_sets_when_routing_fails_open(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("a") as a, HttpEcho("b") as b, HttpEcho("c") as c:
        tg, listener = alb_with_group(elbv2, subnets, vpc_id, a.port)
        key = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count"
        elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": key, "Value": "2"}])
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": e.port} for e in (a, b, c)])
        url = listener_url(emulator_url, listener)
        a.status = 500
        watch_until(elbv2, tg, a.port, mismatch(500))
        assert served_by(url, 9) == ({"b", "c"}, {200})  # two healthy: enough
        b.status = 500
        watch_until(elbv2, tg, b.port, mismatch(500))
        assert served_by(url, 9)[0] == {"a", "b", "c"}  # one healthy, fewer than 2: fail open to all


def test_group_without_listener_is_not_checked(elbv2, subnets, vpc_id):
    with HttpEcho() as backend:
        tg = elbv2.create_target_group(Name="idle", Protocol="HTTP", Port=backend.port, VpcId=vpc_id, TargetType="ip")
        tg = tg["TargetGroups"][0]["TargetGroupArn"]
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
        assert health(elbv2, tg, backend.port)["Reason"] == "Target.NotInUse"
        assert backend.requests == 0
        lb = elbv2.create_load_balancer(Name="late", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8081, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        assert health(elbv2, tg, backend.port) == HEALTHY
        assert backend.requests >= 1


def test_draining_target_leaves_routing_then_deregistered_waiter_passes_first_poll(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("a") as a, HttpEcho("b") as b:
        tg, listener = alb_with_group(elbv2, subnets, vpc_id, a.port)
        elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "50"}])
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": a.port}, {"Id": "127.0.0.1", "Port": b.port}])
        elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": a.port}])
        assert health(elbv2, tg, a.port)["State"] == "draining"
        assert served_by(listener_url(emulator_url, listener)) == ({"b"}, {200})
        watch_until(elbv2, tg, a.port, {"State": "unused", "Reason": "Target.NotRegistered", "Description": "Target is not registered to the target group"})
        polls = count_calls(elbv2, "DescribeTargetHealth")
        elbv2.get_waiter("target_deregistered").wait(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": a.port}])
        assert polls == [1]


def test_slow_start_ramps_a_new_target_linearly(elbv2, subnets, vpc_id, emulator_server, emulator_url):
    with HttpEcho("a") as a, HttpEcho("b") as b:
        tg, listener = alb_with_group(elbv2, subnets, vpc_id, a.port)
        # 900 s (the maximum) -> 9 s in fast timing: b gets a small, growing share at first.
        elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "slow_start.duration_seconds", "Value": "900"}])
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": a.port}])
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": b.port}])
        targets = {t.port: t for t in emulator_server.dataplane.target_groups[tg].targets.values()}
        assert slow_start_factor(targets[a.port], time.monotonic()) == 1.0  # the first target: no one to ramp against
        assert 0.0 < slow_start_factor(targets[b.port], time.monotonic()) < 1.0
        url = listener_url(emulator_url, listener)
        counts, _ = served(url, 40)
        assert counts["a"] + counts["b"] == 40 and counts["b"] < 10  # round robin without slow start: 20 each
        elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "slow_start.duration_seconds", "Value": "30"}])
        elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": b.port}])
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": b.port}])  # ramps again, 0.3 s
        target = emulator_server.dataplane.target_groups[tg].targets[(tg, "127.0.0.1", b.port)]
        while slow_start_factor(target, time.monotonic()) < 1.0:
            time.sleep(0.05)
        assert served(url, 20)[0] == {"a": 10, "b": 10}  # ramp over: plain round robin


def test_aws_timing_reports_registration_in_progress():
    server = EmulatorServer(port=0, timing=Timing.named("aws")).start()
    try:
        elbv2 = boto3.client("elbv2", endpoint_url=server.url, region_name="us-east-1")
        ec2 = boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1")
        vpc_id = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        subnets = list({s["AvailabilityZone"]: s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}.values())[:2]
        with HttpEcho() as backend:
            tg, listener = alb_with_group(elbv2, subnets, vpc_id, backend.port)
            elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
            assert health(elbv2, tg, backend.port) == {
                "State": "initial", "Reason": "Elb.RegistrationInProgress", "Description": "Target registration is in progress",
            }
            assert backend.requests == 0  # AWS timing: the first check comes within the first 30 s interval
    finally:
        server.stop()
