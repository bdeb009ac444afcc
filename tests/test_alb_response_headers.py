"""Listener attributes that shape responses: Server: awselb/2.0 on LB-made responses, and injected headers on
both target and LB-made responses (replacing a target's header of the same name)."""

from __future__ import annotations

import requests

from tests.alb_support import alb, forward, listener, listener_url, target_group
from tests.backends import HttpEcho

HSTS = "max-age=31536000; includeSubDomains"


def test_server_header_and_injected_headers(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        backend.extra_headers = {"X-Frame-Options": "ALLOWALL"}
        lb = alb(elbv2, subnets)
        arn = listener(elbv2, lb, forward(target_group(elbv2, vpc_id, "tg", [backend])))
        elbv2.create_rule(ListenerArn=arn, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/fixed"]}],
                          Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "418"}}])
        url = listener_url(emulator_url, arn)
        assert requests.get(f"{url}/fixed", timeout=5).headers["Server"] == "awselb/2.0"  # the default

        elbv2.modify_listener_attributes(ListenerArn=arn, Attributes=[
            {"Key": "routing.http.response.server.enabled", "Value": "false"},
            {"Key": "routing.http.response.strict_transport_security.header_value", "Value": HSTS},
            {"Key": "routing.http.response.x_frame_options.header_value", "Value": "DENY"},
            {"Key": "routing.http.response.access_control_allow_origin.header_value", "Value": "https://app.example"},
        ])
        fixed = requests.get(f"{url}/fixed", timeout=5)
        assert fixed.status_code == 418 and "Server" not in fixed.headers
        assert fixed.headers["Strict-Transport-Security"] == HSTS and fixed.headers["X-Frame-Options"] == "DENY"
        forwarded = requests.get(f"{url}/app", timeout=5)
        assert forwarded.status_code == 200
        assert forwarded.headers["X-Frame-Options"] == "DENY"  # the target's ALLOWALL replaced, not doubled
        assert forwarded.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert forwarded.headers["Server"].startswith("BaseHTTP")  # the target's own Server header is kept
        failed = requests.request("TRACE", f"{url}/app", timeout=5)  # an LB-made error gets the same treatment
        assert failed.status_code == 405 and "Server" not in failed.headers
        assert failed.headers["Strict-Transport-Security"] == HSTS
