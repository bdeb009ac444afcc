"""Helpers for the NLB data-plane tests: build an NLB with one listener through boto3, find where it listens."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import boto3
import botocore.session
import requests

from emulator.protocol.model import MODEL_EXTRAS


def listener_address(emulator_url: str, listener_arn: str) -> tuple[str, int]:
    """Where the listener accepts traffic, from the documented admin endpoint."""
    for entry in requests.get(f"{emulator_url}/_emulator/listeners", timeout=5).json():
        if entry["ListenerArn"] == listener_arn:
            host, _, port = entry["Address"].rpartition(":")
            return host, int(port)
    raise AssertionError(f"listener {listener_arn} is not running")


def elbv2_with_ip_address_type(emulator_url: str, region: str) -> Any:
    """An elbv2 client whose model has ``SourceIpConditionConfig.IpAddressType`` (NLB listener rules), which
    the pinned botocore lacks: the emulator's model extras on the client's loader path, as a user would add
    them (or a newer botocore)."""
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.append(str(MODEL_EXTRAS))
    return boto3.Session(botocore_session=session).client("elbv2", endpoint_url=emulator_url, region_name=region)


def target_group(elbv2: Any, vpc_id: str, name: str, protocol: str = "TCP", ports: list[int] = (),
                 attributes: dict[str, str] | None = None, target_type: str = "ip", **extra: Any) -> str:
    arn = elbv2.create_target_group(Name=name, Protocol=protocol, Port=1, VpcId=vpc_id, TargetType=target_type,
                                    **extra)["TargetGroups"][0]["TargetGroupArn"]
    if attributes:
        elbv2.modify_target_group_attributes(
            TargetGroupArn=arn, Attributes=[{"Key": k, "Value": v} for k, v in attributes.items()])
    if ports:
        elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": p} for p in ports])
    return arn


def nlb(elbv2: Any, subnets: list[str], name: str = "nlb") -> str:
    return elbv2.create_load_balancer(Name=name, Type="network", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]


def listener(elbv2: Any, lb_arn: str, tg_arn: str, protocol: str = "TCP", port: int = 7000, **extra: Any) -> str:
    return elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol=protocol, Port=port,
                                 DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
                                 **extra)["Listeners"][0]["ListenerArn"]


def wait_for(condition: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll until ``condition()`` is truthy (for traffic-driven state); fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def connect(address: tuple[str, int], timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(address, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_all(sock: socket.socket) -> bytes:
    """Everything until the peer's EOF."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def wait_healthy(elbv2: Any, tg_arn: str) -> None:
    """Wait until every target of the group passed its health checks (the health checker runs on its own)."""
    def healthy() -> bool:
        states = [d["TargetHealth"]["State"]
                  for d in elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]]
        return bool(states) and all(state == "healthy" for state in states)

    wait_for(healthy)
