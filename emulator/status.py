"""``elbv2-emulator status``: what a running emulator serves, as a table (or JSON), read over its API.

Load balancers with their listeners (protocol, port, where each is bound, how many rules), and target groups
with every target's live health and reason — the API's answers (DescribeLoadBalancers, DescribeListeners,
DescribeRules, DescribeTargetGroups, DescribeTargetHealth) and ``GET /_emulator/listeners`` for the bindings.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO

import boto3
import requests

_COLOURS = {"healthy": "32", "active": "32", "listening": "32", "unhealthy": "31", "failed": "31",
            "remapped": "33", "initial": "33", "draining": "33", "provisioning": "33", "unused": "2",
            "unavailable": "31"}


def snapshot(endpoint: str, region: str) -> dict[str, Any]:
    """Everything the table shows, as plain data (the ``--json`` output)."""
    elbv2 = boto3.client("elbv2", endpoint_url=endpoint, region_name=region,
                         aws_access_key_id="status", aws_secret_access_key="status")
    bound = {entry["ListenerArn"]: entry for entry in
             requests.get(f"{endpoint}/_emulator/listeners", timeout=5).json()}
    balancers = []
    for lb in _all(elbv2, "describe_load_balancers", "LoadBalancers"):
        listeners = []
        for listener in _all(elbv2, "describe_listeners", "Listeners", LoadBalancerArn=lb["LoadBalancerArn"]):
            binding = bound.get(listener["ListenerArn"], {})
            rules = _all(elbv2, "describe_rules", "Rules", ListenerArn=listener["ListenerArn"])
            listeners.append({"ListenerArn": listener["ListenerArn"], "Protocol": listener.get("Protocol"),
                              "Port": listener.get("Port"), "State": binding.get("State", "-"),
                              "Address": binding.get("Address"), "Rules": len(rules)})
        balancers.append({"Name": lb["LoadBalancerName"], "Type": lb["Type"], "State": lb["State"]["Code"],
                          "DNSName": lb.get("DNSName"), "Listeners": listeners})
    groups = []
    for tg in _all(elbv2, "describe_target_groups", "TargetGroups"):
        health = elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
        groups.append({"Name": tg["TargetGroupName"], "Protocol": tg.get("Protocol"), "Port": tg.get("Port"),
                       "TargetType": tg["TargetType"], "Targets": [
                           {"Id": d["Target"]["Id"], "Port": d["Target"].get("Port"),
                            "State": d["TargetHealth"]["State"], "Reason": d["TargetHealth"].get("Reason")}
                           for d in health]})
    return {"Endpoint": endpoint, "Region": region, "LoadBalancers": balancers, "TargetGroups": groups}


def _all(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    if client.can_paginate(operation):
        return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]
    return list(getattr(client, operation)(**kwargs)[key])


def render(state: dict[str, Any], colour: bool) -> str:
    """The terminal table."""
    paint = (lambda word: f"\033[{_COLOURS[word]}m{word}\033[0m" if word in _COLOURS else word) if colour else str
    lines = [f"elbv2-emulator at {state['Endpoint']} ({state['Region']})", ""]
    if not state["LoadBalancers"]:
        lines.append("no load balancers")
    for lb in state["LoadBalancers"]:
        lines.append(f"{lb['Name']}  {lb['Type']}  {paint(lb['State'])}  {lb['DNSName'] or '-'}")
        for listener in lb["Listeners"]:
            where = listener["Address"] or "not bound"
            lines.append(f"    {listener['Protocol'] or '-'}:{listener['Port'] or '-'}  ->  {where}"
                         f"  {paint(listener['State'])}  {listener['Rules']} rule{'s' * (listener['Rules'] != 1)}")
    lines.append("")
    if not state["TargetGroups"]:
        lines.append("no target groups")
    for tg in state["TargetGroups"]:
        lines.append(f"{tg['Name']}  {tg['Protocol'] or '-'}:{tg['Port'] or '-'}  {tg['TargetType']}")
        if not tg["Targets"]:
            lines.append("    no targets")
        for target in tg["Targets"]:
            reason = f" ({target['Reason']})" if target["Reason"] else ""
            port = f":{target['Port']}" if target["Port"] else ""
            lines.append(f"    {target['Id']}{port}  {paint(target['State'])}{reason}")
    return "\n".join(lines)


def run(endpoint: str, region: str, as_json: bool, watch: float | None, out: TextIO = sys.stdout) -> None:
    colour = out.isatty() and "NO_COLOR" not in os.environ
    while True:
        state = snapshot(endpoint.rstrip("/"), region)
        if as_json:
            out.write(json.dumps(state) + "\n")
        else:
            if watch is not None and colour:
                out.write("\033[H\033[2J")  # clear the screen between refreshes
            out.write(render(state, colour) + "\n")
            if watch is not None:
                out.write("\n")
        out.flush()
        if watch is None:
            return
        time.sleep(watch)  # (--watch: the refresh interval the user asked for)
