"""app_cookie stickiness with a large application cookie: AWSALBAPP-0..3 shards
(ALB guide "Sticky sessions for your Application Load Balancer")."""

from __future__ import annotations

import requests

from tests.alb_support import alb, forward, listener, listener_url, target_group
from tests.backends import HttpEcho


def test_large_application_cookie_is_sharded(elbv2, subnets, vpc_id, emulator_url):
    big = "v" * 4000
    with HttpEcho("a") as a, HttpEcho("b") as b, HttpEcho("c") as c:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [a, b, c], attributes={
            "stickiness.enabled": "true", "stickiness.type": "app_cookie",
            "stickiness.app_cookie.cookie_name": "SESSION"})
        url = listener_url(emulator_url, listener(elbv2, lb, forward(tg)))
        for backend in (a, b, c):
            backend.extra_headers["Set-Cookie"] = f"SESSION={big}; Path=/"
        first = requests.get(url, timeout=5)
        lines = first.raw.headers.getlist("Set-Cookie")
        shards = {line.split("=", 1)[0]: line.split("=", 1)[1].split(";")[0] for line in lines}
        assert shards["SESSION"] == big  # the application cookie passes through untouched
        assert len(shards["AWSALBAPP-0"]) == 4000 and 0 < len(shards["AWSALBAPP-1"]) <= 4000
        assert shards["AWSALBAPP-2"] == shards["AWSALBAPP-3"] == "_remove_"
        assert all(len(line) < 4096 for line in lines if line.startswith("AWSALBAPP"))
        cookie = f"AWSALBAPP-0={shards['AWSALBAPP-0']}; AWSALBAPP-1={shards['AWSALBAPP-1']}"
        chosen = {requests.get(url, headers={"Cookie": cookie}, timeout=5).json()["backend"] for _ in range(15)}
        assert chosen == {first.json()["backend"]}  # both shards together name the target
