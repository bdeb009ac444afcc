"""Helpers for the ALB data-plane tests: build an ALB, target groups and listeners through boto3, and find
where a listener accepts traffic (``GET /_emulator/listeners``)."""

from __future__ import annotations

import socket
import socketserver
import threading
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
                 attributes: dict[str, str] | None = None, health: HttpEcho | None = None, **extra: Any) -> str:
    """``health``: a backend that answers the health checks instead of the targets (for targets that are slow,
    broken or stopped on purpose, which would otherwise be judged unhealthy)."""
    if health is not None:
        extra["HealthCheckPort"] = str(health.port)
    arn = elbv2.create_target_group(Name=name, Protocol=protocol, Port=80, VpcId=vpc_id, TargetType="ip",
                                    **extra)["TargetGroups"][0]["TargetGroupArn"]
    if attributes:
        elbv2.modify_target_group_attributes(
            TargetGroupArn=arn, Attributes=[{"Key": k, "Value": v} for k, v in attributes.items()])
    if backends:
        elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": b.host, "Port": b.port} for b in backends])
        wait_checked(elbv2, arn)
    return arn


def wait_checked(elbv2: Any, tg_arn: str) -> None:
    """Targets in their initial health checks get no traffic (503): wait until every target was checked."""
    def checked() -> bool:
        states = elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
        return all(d["TargetHealth"]["State"] != "initial" for d in states)

    wait_for(checked)


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


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.serve(self.request)  # type: ignore[attr-defined]


class RawBackend(socketserver.ThreadingTCPServer):
    """A TCP backend whose per-connection behaviour is a function of the socket (for odd targets:
    malformed responses, chunked streaming, WebSocket)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, serve: Callable[[socket.socket], None]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.serve = serve
        self.host, self.port = "127.0.0.1", self.server_address[1]

    def __enter__(self) -> RawBackend:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """(request head, bytes read beyond it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a full head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def read_chunked(sock: socket.socket, buffered: bytes) -> bytes:
    """Decode a chunked body (no trailers) from ``buffered`` + the socket."""
    body, data = bytearray(), bytearray(buffered)
    while True:
        while b"\r\n" not in data:
            data += sock.recv(65536)
        size_line, _, rest = bytes(data).partition(b"\r\n")
        size = int(size_line, 16)
        data = bytearray(rest)
        while len(data) < size + 2:
            data += sock.recv(65536)
        if size == 0:
            return bytes(body)
        body += data[:size]
        data = data[size + 2:]
