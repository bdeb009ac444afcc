"""Responses the ALB makes itself (AWS "Troubleshoot your Application Load Balancers", HTTP error codes): status, ``Server: awselb/2.0`` and the HTML body."""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from tests.alb_support import (
    RawBackend,
    address,
    alb,
    forward,
    listener,
    listener_url,
    raw,
    read_head,
    target_group,
    wait_checked,
)
from tests.backends import HttpEcho


@pytest.fixture
def checks():
    """Answers the health checks, so targets that misbehave on purpose still count as healthy."""
    with HttpEcho("health") as backend:
        yield backend


def _url(elbv2, subnets, vpc_id, emulator_url, backends, health, attributes=None) -> str:
    lb = alb(elbv2, subnets, attributes=attributes)
    tg = target_group(elbv2, vpc_id, "tg", backends, health=health)
    return listener_url(emulator_url, listener(elbv2, lb, forward(tg)))


def _assert_lb_page(response: requests.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["Server"] == "awselb/2.0"
    assert f"<title>{status}" in response.text


def test_no_registered_targets_is_503(elbv2, subnets, vpc_id, emulator_url, checks):
    _assert_lb_page(requests.get(_url(elbv2, subnets, vpc_id, emulator_url, [], checks)), 503)


def test_refused_target_is_502(elbv2, subnets, vpc_id, emulator_url, checks):
    with HttpEcho() as backend:
        url = _url(elbv2, subnets, vpc_id, emulator_url, [backend], checks)
        backend.stop()
        _assert_lb_page(requests.get(url), 502)


def test_malformed_response_is_502(elbv2, subnets, vpc_id, emulator_url, checks):
    def garbage(sock: socket.socket) -> None:
        read_head(sock)
        sock.sendall(b"this is not http\r\n\r\n")

    with RawBackend(garbage) as backend:
        _assert_lb_page(requests.get(_url(elbv2, subnets, vpc_id, emulator_url, [backend], checks)), 502)


def test_target_slower_than_idle_timeout_is_504(elbv2, subnets, vpc_id, emulator_url, checks):
    with HttpEcho() as backend:
        backend.delay = 3
        url = _url(elbv2, subnets, vpc_id, emulator_url, [backend], checks,
                   {"idle_timeout.timeout_seconds": "1"})
        _assert_lb_page(requests.get(url, timeout=10), 504)


def test_lambda_target_group_without_a_function_is_503(elbv2, subnets, vpc_id, emulator_url, checks):
    """A Lambda group with no function registered has no target (README "Lambda targets" for the rest)."""
    lb = alb(elbv2, subnets)
    tg = elbv2.create_target_group(Name="fn", TargetType="lambda")["TargetGroups"][0]["TargetGroupArn"]
    _assert_lb_page(requests.get(listener_url(emulator_url, listener(elbv2, lb, forward(tg)))), 503)


def test_protocol_errors(elbv2, subnets, vpc_id, emulator_url, checks):
    with HttpEcho() as backend:
        addr = address(_url(elbv2, subnets, vpc_id, emulator_url, [backend], checks))
        cases = {
            b"garbage\r\n\r\n": 400,
            b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n": 405,
            b"GET / HTTP/2.0\r\nHost: x\r\n\r\n": 505,
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n": 501,
            b"GET /" + b"a" * 17000 + b" HTTP/1.1\r\nHost: x\r\n\r\n": 414,
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 17000 + b"\r\n\r\n": 400,
            b"GET / HTTP/1.1\r\nConnection: close\r\nX-Forwarded-For: " + b", ".join([b"10.0.0.1"] * 31) + b"\r\n\r\n": 463,
        }
        for payload, status in cases.items():
            response = raw(addr, payload)
            assert response.startswith(f"HTTP/1.1 {status} ".encode()), (payload[:40], response[:80])
            assert b"Server: awselb/2.0" in response
        ok = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Forwarded-For: " + b", ".join([b"10.0.0.1"] * 30)
        assert raw(addr, ok + b"\r\n\r\n").startswith(b"HTTP/1.1 200 ")  # 30 entries are still fine


def test_idle_client_connections_close_and_partial_requests_get_408(elbv2, subnets, vpc_id, emulator_url, checks):
    with HttpEcho() as backend:
        url = _url(elbv2, subnets, vpc_id, emulator_url, [backend], checks,
                   {"idle_timeout.timeout_seconds": "1"})
        assert raw(address(url), b"GET / HTTP/1.1\r\nHost: x\r\n", timeout=5).startswith(b"HTTP/1.1 408 ")
        with socket.create_connection(address(url), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            first = sock.recv(65536)
            assert first.startswith(b"HTTP/1.1 200 ")
            rest = b""
            while chunk := sock.recv(65536):  # the LB closes the idle keep-alive connection after ~1 s
                rest += chunk
            assert b"HTTP/1.1" not in rest


def test_draining_target_finishes_in_flight_requests(elbv2, subnets, vpc_id, emulator_url, checks):
    with HttpEcho("old") as old, HttpEcho("new") as new:
        old.delay = 1.0
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [old], health=checks)
        url = listener_url(emulator_url, listener(elbv2, lb, forward(tg)))
        result: list[requests.Response] = []
        slow = threading.Thread(target=lambda: result.append(requests.get(url, timeout=10)))
        slow.start()
        while old.requests == 0:  # the request has reached the old target
            threading.Event().wait(0.01)
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": new.host, "Port": new.port}])
        wait_checked(elbv2, tg)
        elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": old.host, "Port": old.port}])
        assert {requests.get(url).json()["backend"] for _ in range(5)} == {"new"}
        slow.join()
        assert result[0].status_code == 200 and result[0].json()["backend"] == "old"
