"""Target type ``alb``: an NLB TCP listener forwards to an Application Load Balancer's listener
(NLB guide "Use an Application Load Balancer as a target"); here the ALB runs in the same emulator.
"""

from __future__ import annotations

import json

import requests

from tests.backends import HttpEcho
from tests.nlb_support import listener, listener_address, nlb


def test_nlb_forwards_to_an_alb_listener(emulator_url, elbv2, vpc_id, subnets):
    with HttpEcho("web") as web:
        web_tg = elbv2.create_target_group(Name="web", Protocol="HTTP", Port=web.port, VpcId=vpc_id,
                                           TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        elbv2.register_targets(TargetGroupArn=web_tg, Targets=[{"Id": "127.0.0.1", "Port": web.port}])
        alb = elbv2.create_load_balancer(Name="alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        listener(elbv2, alb, web_tg, protocol="HTTP", port=7080)
        alb_tg = elbv2.create_target_group(Name="to-alb", Protocol="TCP", Port=7080, VpcId=vpc_id,
                                           TargetType="alb")["TargetGroups"][0]["TargetGroupArn"]
        elbv2.register_targets(TargetGroupArn=alb_tg, Targets=[{"Id": alb, "Port": 7080}])
        host, port = listener_address(emulator_url, listener(elbv2, nlb(elbv2, subnets), alb_tg, port=7081))
        response = requests.get(f"http://{host}:{port}/through/nlb", timeout=5)
    assert response.status_code == 200
    body = json.loads(response.content)
    assert (body["backend"], body["path"]) == ("web", "/through/nlb")
    assert any(name.lower() == "x-forwarded-for" for name, _ in body["headers"])  # the ALB handled it
