"""Target selection without a server: group weights, AWSALBTG, lb_cookie, app_cookie shards, fail-open,
the algorithms and the NLB flow hash (``emulator.dataplane.selection``)."""

from __future__ import annotations

import base64
import collections
import time
from datetime import datetime, timezone

import pytest

from api_models.attributes import target_group_defaults
from api_models.resources import TargetGroup, TargetRegistration
from emulator.dataplane.selection.cookies import seal, unseal
from emulator.dataplane.selection.flow_hash import flow_target
from emulator.dataplane.selection.forward import Forward
from emulator.dataplane.targets import TargetGroupRuntime

NOW = datetime.now(timezone.utc)


class Request:
    def __init__(self, **cookies: str) -> None:
        self.cookies = cookies

    def cookie(self, name: str) -> str | None:
        return self.cookies.get(name)


def group(name: str, ports: list[int], protocol: str = "HTTP", **attributes: str) -> TargetGroupRuntime:
    arn = f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{name}/0123456789abcdef"
    model = TargetGroup(
        account="123456789012", region="us-east-1", TargetGroupArn=arn, TargetGroupName=name, Protocol=protocol,
        Port=80, HealthCheckEnabled=True, HealthCheckIntervalSeconds=30, HealthCheckTimeoutSeconds=5,
        HealthyThresholdCount=5, UnhealthyThresholdCount=2, TargetType="ip",
        attributes=target_group_defaults(protocol, "ip") | attributes,
    )
    runtime = TargetGroupRuntime(model)
    registrations = [TargetRegistration(account="123456789012", region="us-east-1", target_group_arn=arn,
                                        Id="127.0.0.1", Port=port, registered_at=NOW) for port in ports]
    runtime.update(model, registrations, lambda registration: registration.Id)
    return runtime


def cookie_value(set_cookie: bytes) -> tuple[str, str]:
    name, value = set_cookie.split(b";", 1)[0].decode().split("=", 1)
    return name, value


def test_single_group_round_robin_sets_no_cookie():
    tg = group("a", [1, 2, 3])
    forward = Forward([(tg, 1)], 0)
    picks = [forward.select(Request()) for _ in range(6)]
    assert all(s.group is tg and s.set_cookies == [] for s in picks)
    assert [s.target.port for s in picks if s.target] == [2, 3, 1, 2, 3, 1]
    assert picks[0].response_cookies([b"SESSION=x"]) == []


def test_weights_split_and_weight_zero_gets_nothing():
    blue, green, off = group("blue", [1]), group("green", [2]), group("off", [3])
    forward = Forward([(blue, 80), (green, 20), (off, 0)], 0)
    seen = collections.Counter(forward.select(Request()).group.group.TargetGroupName for _ in range(2000))
    assert seen["off"] == 0 and 1500 <= seen["blue"] <= 1700, seen


def test_target_group_stickiness_cookie_pins_the_group():
    blue, green = group("blue", [1]), group("green", [2])
    forward = Forward([(blue, 50), (green, 50)], 300)
    first = forward.select(Request())
    cookies = dict(cookie_value(c) for c in first.set_cookies)
    assert set(cookies) == {"AWSALBTG", "AWSALBTGCORS"} and cookies["AWSALBTG"] == cookies["AWSALBTGCORS"]
    assert first.set_cookies[1].endswith(b"; SameSite=None; Secure")
    for _ in range(20):
        assert forward.select(Request(AWSALBTG=cookies["AWSALBTG"])).group is first.group
        assert forward.select(Request(AWSALBTGCORS=cookies["AWSALBTG"])).group is first.group
    assert forward.select(Request(AWSALBTG="garbage")).group in (blue, green)  # chosen again


def test_lb_cookie_names_the_target_until_it_is_no_longer_routable():
    tg = group("a", [1, 2, 3], **{"stickiness.enabled": "true"})
    forward = Forward([(tg, 1)], 0)
    first = forward.select(Request())
    cookies = dict(cookie_value(c) for c in first.set_cookies)
    assert set(cookies) == {"AWSALB", "AWSALBCORS"}
    assert {forward.select(Request(AWSALB=cookies["AWSALB"])).target for _ in range(10)} == {first.target}
    assert first.target is not None
    first.target.healthy = False
    tg.refresh_routable()
    assert forward.select(Request(AWSALB=cookies["AWSALB"])).target is not first.target


def test_an_expired_cookie_is_not_honoured():
    value = seal("127.0.0.1|1", -10)
    assert unseal(value, 2) is None
    assert unseal(seal("127.0.0.1|1", 10), 2) == ["127.0.0.1", "1"]
    assert unseal("%%%", 2) is None


def test_app_cookie_shards_carry_the_target_and_the_application_cookie():
    tg = group("a", [1, 2, 3], **{"stickiness.enabled": "true", "stickiness.type": "app_cookie",
                                  "stickiness.app_cookie.cookie_name": "SESSION"})
    forward = Forward([(tg, 1)], 0)
    first = forward.select(Request())
    assert first.set_cookies == []  # app_cookie: nothing until the target sets its cookie
    assert first.response_cookies([b"other=1"]) == []
    added = first.response_cookies([b"other=1", b"session=" + b"v" * 5000 + b"; Path=/"])
    shards = dict(cookie_value(c) for c in added)
    assert list(shards) == ["AWSALBAPP-0", "AWSALBAPP-1", "AWSALBAPP-2", "AWSALBAPP-3"]
    assert len(shards["AWSALBAPP-0"]) == 4000 and shards["AWSALBAPP-2"] == shards["AWSALBAPP-3"] == "_remove_"
    assert b"Expires=Thu, 01 Jan 1970" in added[3]
    plain = base64.urlsafe_b64decode(shards["AWSALBAPP-0"] + shards["AWSALBAPP-1"] + "==")
    assert plain.endswith(b"|session=" + b"v" * 5000)
    request = Request(**{"AWSALBAPP-0": shards["AWSALBAPP-0"], "AWSALBAPP-1": shards["AWSALBAPP-1"],
                         "AWSALBAPP-2": "_remove_"})
    assert {forward.select(request).target for _ in range(10)} == {first.target}


def test_fail_open_and_initial_targets():
    tg = group("a", [1, 2])
    targets = list(tg.targets.values())
    for target in targets:
        target.healthy = False
    tg.refresh_routable()
    assert tg.routable == targets  # none healthy: fail open to all
    targets[0].initial = targets[1].initial = True
    tg.refresh_routable()
    assert tg.routable == [] and Forward([(tg, 1)], 0).select(Request()).target is None


def test_minimum_healthy_percentage_fails_open_below_it():
    tg = group("a", [1, 2, 3, 4], **{
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "50"})
    targets = list(tg.targets.values())
    targets[0].healthy = targets[1].healthy = False
    tg.refresh_routable()
    assert tg.routable == targets[2:]  # 2 of 4 healthy: 50 %, enough
    targets[2].healthy = False
    tg.refresh_routable()
    assert tg.routable == targets  # 1 of 4: fail open


def test_settings_follow_the_attributes_on_update():
    tg = group("a", [1, 2])
    assert tg.settings.algorithm == "round_robin" and tg.stickiness.kind == ""
    model = tg.group.model_copy(update={"attributes": tg.group.attributes | {
        "stickiness.enabled": "true", "load_balancing.algorithm.type": "least_outstanding_requests"}})
    registrations = [TargetRegistration(account="123456789012", region="us-east-1", target_group_arn=tg.arn,
                                        Id=t.id, Port=t.port, registered_at=NOW) for t in tg.targets.values()]
    tg.update(model, registrations, lambda registration: registration.Id)
    assert tg.settings.algorithm == "least_outstanding_requests" and tg.stickiness.kind == "lb_cookie"
    busy, idle = tg.routable
    busy.outstanding = 3
    assert {tg.picker.pick() for _ in range(5)} == {idle}


@pytest.mark.parametrize("algorithm", ["round_robin", "weighted_random"])
def test_algorithms_spread_evenly(algorithm):
    tg = group("a", [1, 2, 3], **{"load_balancing.algorithm.type": algorithm})
    seen = collections.Counter(tg.picker.pick().port for _ in range(3000))
    assert all(800 <= n <= 1200 for n in seen.values()), seen


def test_slow_start_gives_a_ramping_target_a_small_share():
    tg = group("a", [1, 2], **{"slow_start.duration_seconds": "30"})
    settled, ramping = tg.routable
    ramping.healthy_since, ramping.slow_start = time.monotonic(), 30.0
    tg.refresh_routable()
    seen = collections.Counter(tg.picker.pick() for _ in range(100))
    assert seen[ramping] <= 5 and seen[settled] >= 95


def test_flow_hash_source_ip_pins_a_client():
    plain = group("tcp", [1, 2, 3, 4], protocol="TCP")
    sticky = group("sticky", [1, 2, 3, 4], protocol="TCP",
                   **{"stickiness.enabled": "true", "stickiness.type": "source_ip"})
    listener = ("127.0.0.1", 80)
    assert len({flow_target(plain, "TCP", ("10.0.0.1", port), listener) for port in range(1000, 1100)}) > 1
    assert len({flow_target(sticky, "TCP", ("10.0.0.1", port), listener) for port in range(1000, 1100)}) == 1
    assert flow_target(group("empty", [], protocol="TCP"), "TCP", ("10.0.0.1", 1), listener) is None
