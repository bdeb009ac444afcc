"""Helpers for the health-check tests: groups in use by a listener, and watching DescribeTargetHealth.

State changes are driven by the backends the tests flip, so tests poll DescribeTargetHealth with a short
deadline (the fast timing checks every 0.3 s) and record every distinct state they saw on the way.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections import Counter
from typing import Any

import requests
import trustme


def alb_with_group(elbv2: Any, subnets: list[str], vpc_id: str, port: int, **group: Any) -> tuple[str, str]:
    """An HTTP target group (ip targets) that an ALB listener forwards to, so its targets are checked.

    Returns the group's ARN and the listener's ARN."""
    settings = {"Name": "web", "Protocol": "HTTP", "Port": port, "VpcId": vpc_id, "TargetType": "ip", **group}
    tg = elbv2.create_target_group(**settings)["TargetGroups"][0]["TargetGroupArn"]
    lb = elbv2.create_load_balancer(Name="alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="HTTP", Port=8080, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}]
    )["Listeners"][0]["ListenerArn"]
    return tg, listener


def listener_url(emulator_url: str, listener_arn: str) -> str:
    """Where the listener accepts traffic, from the documented admin endpoint."""
    for entry in requests.get(f"{emulator_url}/_emulator/listeners", timeout=5).json():
        if entry["ListenerArn"] == listener_arn:
            return f"http://{entry['Address']}/"
    raise AssertionError(f"listener {listener_arn} is not running")


def served_by(url: str, requests_count: int = 8) -> tuple[set[str], set[int]]:
    """Send requests through the load balancer: the backend names that answered and the statuses seen."""
    names, statuses = served(url, requests_count)
    return set(names), statuses


def served(url: str, requests_count: int) -> tuple[Counter[str], set[int]]:
    """Send requests through the load balancer: how many each backend answered, and the statuses seen."""
    names: Counter[str] = Counter()
    statuses: set[int] = set()
    with requests.Session() as session:
        for _ in range(requests_count):
            response = session.get(url, timeout=5, headers={"Connection": "close"})
            statuses.add(response.status_code)
            if response.headers.get("Content-Type") == "application/json":
                names[response.json()["backend"]] += 1
    return names, statuses


def health(elbv2: Any, tg: str, port: int) -> dict[str, str]:
    target = {"Id": "127.0.0.1", "Port": port}
    return elbv2.describe_target_health(TargetGroupArn=tg, Targets=[target])["TargetHealthDescriptions"][0]["TargetHealth"]


def watch_until(elbv2: Any, tg: str, port: int, expected: dict[str, str], timeout: float = 8.0) -> list[dict[str, str]]:
    """Poll the target's health until it equals ``expected``; returns the distinct states seen, in order."""
    seen: list[dict[str, str]] = []
    deadline = time.monotonic() + timeout
    while True:
        current = health(elbv2, tg, port)
        if not seen or seen[-1] != current:
            seen.append(current)
        if current == expected:
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"never reached {expected}; saw {seen}")
        time.sleep(0.03)


class RecordingBackend:
    """Accepts connections, keeps each raw request head and answers 200 (to see what a check sends).

    With ``tls``, it speaks HTTPS with a certificate no one trusts (AWS does not verify targets')."""

    def __init__(self, tls: bool = False) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._tls: ssl.SSLContext | None = None
        if tls:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            trustme.CA().issue_cert("backend.internal").configure_cert(self._tls)
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            if self._tls is not None:
                try:
                    conn = self._tls.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    continue
            with conn:
                head = b""
                while b"\r\n\r\n" not in head and (chunk := conn.recv(4096)):
                    head += chunk
                self.requests.append(head)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def close(self) -> None:
        self._sock.close()
