"""Helpers for the ALB data-plane tests: build an ALB, target groups and listeners through boto3, and find
where a listener accepts traffic (``GET /_emulator/listeners``)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import requests

from tests.backends import HttpEcho


def listener_url(emulator_url: str, listener_arn: str, scheme: str = "http") -> str:
    for entry in requests.get(f"{emulator_url}/_emulator/listeners", timeout=5).json():
        if entry["ListenerArn"] == listener_arn:
            return f"{scheme}://{entry['Address']}"
    raise AssertionError(f"listener {listener_arn} is not running")


def address(url: str) -> tuple[str, int]:
    host, _, port = url.split("://")[1].rpartition(":")
    return host, int(port)


def alb(elbv2: Any, subnets: list[str], name: str = "alb", attributes: dict[str, str] | None = None) -> str:
    arn = elbv2.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    if attributes:
        elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=arn, Attributes=[{"Key": k, "Value": v} for k, v in attributes.items()])
    return arn


def target_group(elbv2: Any, vpc_id: str, name: str, backends: list[HttpEcho] = (), protocol: str = "HTTP",
                 attributes: dict[str, str] | None = None, **extra: Any) -> str:
    arn = elbv2.create_target_group(Name=name, Protocol=protocol, Port=80, VpcId=vpc_id, TargetType="ip",
                                    **extra)["TargetGroups"][0]["TargetGroupArn"]
    if attributes:
        elbv2.modify_target_group_attributes(
            TargetGroupArn=arn, Attributes=[{"Key": k, "Value": v} for k, v in attributes.items()])
    if backends:
        elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": b.host, "Port": b.port} for b in backends])
    return arn


def forward(tg_arn: str) -> list[dict]:
    return [{"Type": "forward", "TargetGroupArn": tg_arn}]


def free_port() -> int:
    """A port free on 127.0.0.1 right now: listeners of concurrent test runs rarely collide on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listener(elbv2: Any, lb_arn: str, actions: list[dict], port: int | None = None, protocol: str = "HTTP",
             **extra: Any) -> str:
    return elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol=protocol, Port=port or free_port(),
                                 DefaultActions=actions,
                                 **extra)["Listeners"][0]["ListenerArn"]


def raw(addr: tuple[str, int], payload: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read until the LB closes the connection."""
    with socket.create_connection(addr, timeout=timeout) as sock:
        sock.sendall(payload)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)


def wait_for(condition: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
    return value
