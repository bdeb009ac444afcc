"""``elbv2-emulator status`` run as a user runs it: a subprocess against a live emulator (issue 12, point 3)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.alb_support import alb, forward, listener, target_group, wait_checked, wait_for
from tests.backends import HttpEcho


def _status(emulator_url: str, *options: str) -> str:
    return subprocess.run([sys.executable, "-m", "emulator.cli", "status", "--endpoint", emulator_url, *options],
                          capture_output=True, text=True, timeout=60, check=True).stdout


def test_table_and_json_show_listeners_where_bound_and_live_target_health(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as up, HttpEcho() as down:
        lb = alb(elbv2, subnets, name="shop")
        tg = target_group(elbv2, vpc_id, "shop-web", [up, down])
        arn = listener(elbv2, lb, forward(tg))
        elbv2.create_rule(ListenerArn=arn, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/a"]}],
                          Actions=forward(tg))
        wait_checked(elbv2, tg)
        down.stop()

        def down_is_unhealthy() -> bool:
            health = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
            return any(d["TargetHealth"]["State"] == "unhealthy" for d in health)

        wait_for(down_is_unhealthy, timeout=10)
        state = json.loads(_status(emulator_url, "--json"))
        table = _status(emulator_url)

    (shop,) = state["LoadBalancers"]
    (http,) = shop["Listeners"]
    assert (shop["Name"], shop["Type"], shop["State"]) == ("shop", "application", "active")
    assert http["State"] == "listening" and http["Address"] and http["Rules"] == 2  # the rule and the default
    (group,) = state["TargetGroups"]
    states = {t["Port"]: (t["State"], t["Reason"]) for t in group["Targets"]}
    assert states == {up.port: ("healthy", None), down.port: ("unhealthy", "Target.FailedHealthChecks")}
    assert f"HTTP:{http['Port']}  ->  {http['Address']}  listening  2 rules" in table
    assert f"127.0.0.1:{down.port}  unhealthy (Target.FailedHealthChecks)" in table
    assert "\033[" not in table  # no colour when stdout is not a terminal


def test_watch_refreshes_until_interrupted(emulator_url):
    process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "status", "--endpoint", emulator_url, "--json",
                                "--watch", "0.1"], stdout=subprocess.PIPE, text=True)
    try:
        frames = [json.loads(process.stdout.readline()) for _ in range(3)]
    finally:
        process.terminate()
        process.wait(10)
    assert all(frame["LoadBalancers"] == [] for frame in frames)
