"""The health checker's per-group plan and its seam to the NLB, without an emulator around them.

References: AWS "Health checks for Application Load Balancer target groups" and "Health checks for Network
Load Balancer target groups" (default protocol, path and success codes per load balancer type), the NLB
target group attribute ``target_health_state.unhealthy.connection_termination.enabled`` (default true).
"""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace

from api_models.attribute_views import TargetGroupSettings
from api_models.resources import TargetGroup
from emulator.dataplane.health import HealthChecker
from emulator.dataplane.health.plan import FAST_INTERVAL_FLOOR, FAST_TIMEOUT_FLOOR, CheckPlan
from emulator.dataplane.runtime import Collaborators
from emulator.dataplane.targets import Target, TargetGroupRuntime
from emulator.store import TargetHealthBoard
from emulator.timing import Timing

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef"


def group(**fields: object) -> TargetGroup:
    values: dict[str, object] = {
        "account": "123456789012", "region": "us-east-1", "TargetGroupArn": ARN, "TargetGroupName": "tg",
        "Protocol": "HTTP", "Port": 80, "HealthCheckEnabled": True, "HealthCheckIntervalSeconds": 30,
        "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 2,
        "TargetType": "ip", "attributes": {},
    }
    values.update(fields)
    return TargetGroup(**values)


def plan_of(tg: TargetGroup, timing: str = "aws") -> CheckPlan:
    return CheckPlan.of(tg, TargetGroupSettings.of(tg.attributes), Timing.named(timing))


def test_alb_defaults():
    plan = plan_of(group())
    assert (plan.kind, plan.path, plan.codes, plan.port, plan.tls, plan.nlb) == ("http", "/", {200}, None, False, False)
    assert (plan.interval, plan.timeout, plan.healthy_threshold, plan.unhealthy_threshold) == (30, 5, 5, 2)


def test_nlb_defaults_and_http_checks():
    assert plan_of(group(Protocol="TCP")).kind == "tcp"
    assert plan_of(group(Protocol="TCP")).codes == frozenset()
    plan = plan_of(group(Protocol="TLS", HealthCheckProtocol="HTTPS", HealthCheckPort="8443"))
    assert (plan.kind, plan.tls, plan.nlb, plan.port, plan.codes) == ("http", True, True, 8443, set(range(200, 400)))


def test_grpc_defaults_and_matcher_forms():
    plan = plan_of(group(ProtocolVersion="GRPC", Matcher={"GrpcCode": "0-2,12"}))
    assert (plan.kind, plan.path, plan.codes) == ("grpc", "/AWS.ALB/healthcheck", {0, 1, 2, 12})
    assert plan_of(group(ProtocolVersion="GRPC")).codes == {12}
    assert plan_of(group(Matcher={"HttpCode": "200,202-204"})).codes == {200, 202, 203, 204}


def test_fast_timing_floors_and_timeout_within_interval():
    plan = plan_of(group(HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=5), "fast")
    assert (plan.interval, plan.timeout) == (FAST_INTERVAL_FLOOR, FAST_TIMEOUT_FLOOR)
    assert plan_of(group(HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=10)).timeout == 5


def test_lambda_and_disabled_groups_are_not_probed():
    assert not plan_of(group(TargetType="lambda")).probes
    assert plan_of(group(TargetType="lambda")).checks_enabled
    assert not plan_of(group(HealthCheckEnabled=False)).probes


def test_an_unparsable_matcher_fails_every_check_instead_of_raising():
    assert plan_of(group(Matcher={"HttpCode": "ok"})).codes == frozenset()


def test_nlb_target_turning_unhealthy_resets_its_flows_through_the_injected_hook():
    reset: list[Target] = []

    async def scenario() -> None:
        server = socket.create_server(("127.0.0.1", 0))
        port = server.getsockname()[1]
        runtime = TargetGroupRuntime(group(Protocol="TCP", HealthyThresholdCount=2, UnhealthyThresholdCount=2))
        key = (ARN, "127.0.0.1", port)
        target = runtime.targets[key] = Target(key, "127.0.0.1", "127.0.0.1", port)
        board = TargetHealthBoard()
        checker = HealthChecker(
            Collaborators(Timing.named("fast"), board, lambda arn: None, lambda *args: "127.0.0.1"), reset.append
        )
        listener = SimpleNamespace(load_balancer=SimpleNamespace(address="127.1.0.1"), listener=SimpleNamespace(Port=80))
        await checker.sync({ARN: runtime}, {ARN: listener})
        assert target.healthy and not reset
        server.close()  # refused from now on
        for _ in range(100):
            await asyncio.sleep(0.05)
            if reset:
                break
        checker.close()
        assert reset == [target] and not target.healthy
        assert board.get(key).reason == "Target.FailedHealthChecks"

    asyncio.run(scenario())
