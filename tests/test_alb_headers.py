"""Headers an ALB forwards to targets (AWS "HTTP headers and Application Load Balancers"), observed by an echo backend."""

from __future__ import annotations

import re

import requests

from tests.alb_support import address, alb, forward, listener, listener_url, raw, target_group
from tests.backends import HttpEcho

TRACE = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$")


def _setup(elbv2, subnets, vpc_id, emulator_url, backend: HttpEcho, **attributes: str) -> str:
    lb = alb(elbv2, subnets, attributes=attributes or None)
    return listener_url(emulator_url, listener(elbv2, lb, forward(target_group(elbv2, vpc_id, "tg", [backend]))))


def _headers(url: str, path: str = "/", **headers: str) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, value in requests.get(url + path, headers=headers, timeout=5).json()["headers"]:
        seen.setdefault(name.lower(), []).append(value)
    return seen


def test_forwarded_headers_in_append_mode(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        url = _setup(elbv2, subnets, vpc_id, emulator_url, backend)
        port = str(address(url)[1])
        plain = _headers(url)
        assert plain["x-forwarded-for"] == ["127.0.0.1"]
        assert plain["x-forwarded-proto"] == ["http"] and plain["x-forwarded-port"] == [port]
        assert TRACE.match(plain["x-amzn-trace-id"][0])
        assert plain["host"] == [f"{address(url)[0]}:{port}"]
        forged = _headers(url, **{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
                                  "X-Forwarded-Port": "1", "Host": "app.example.com:80"})
        assert forged["x-forwarded-for"] == ["203.0.113.7, 127.0.0.1"]
        assert forged["x-forwarded-proto"] == ["http"] and forged["x-forwarded-port"] == [port]  # overwritten
        assert forged["host"] == [f"app.example.com:{port}"]  # the listener's port replaces the client's


def test_trace_id_root_is_kept_and_self_added(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        url = _setup(elbv2, subnets, vpc_id, emulator_url, backend)
        root = "Root=1-5759e988-bd862e3fe1be46a994272793"
        trace = _headers(url, **{"X-Amzn-Trace-Id": f"{root};Sampled=1"})["x-amzn-trace-id"][0]
        assert re.match(r"^Self=1-[0-9a-f]{8}-[0-9a-f]{24};" + root + ";Sampled=1$", trace)
        assert TRACE.match(_headers(url, **{"X-Amzn-Trace-Id": "nonsense"})["x-amzn-trace-id"][0])


def test_xff_client_port_preserve_host_and_drop_invalid(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        url = _setup(elbv2, subnets, vpc_id, emulator_url, backend, **{
            "routing.http.xff_client_port.enabled": "true",
            "routing.http.preserve_host_header.enabled": "true",
            "routing.http.drop_invalid_header_fields.enabled": "true"})
        seen = _headers(url, **{"Host": "app.example.com:80", "Bad_Name": "x", "Good-Name": "y"})
        assert re.match(r"^127\.0\.0\.1:\d+$", seen["x-forwarded-for"][0])
        assert seen["host"] == ["app.example.com:80"]
        assert "bad_name" not in seen and seen["good-name"] == ["y"]


def test_invalid_header_names_pass_by_default(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        url = _setup(elbv2, subnets, vpc_id, emulator_url, backend)
        assert _headers(url, **{"Bad_Name": "x"})["bad_name"] == ["x"]


def test_xff_preserve_and_remove_modes(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets, attributes={"routing.http.xff_header_processing.mode": "preserve"})
        url = listener_url(emulator_url, listener(elbv2, lb, forward(target_group(elbv2, vpc_id, "tg", [backend]))))
        assert _headers(url, **{"X-Forwarded-For": "198.51.100.1"})["x-forwarded-for"] == ["198.51.100.1"]
        assert "x-forwarded-for" not in _headers(url)
        elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
            {"Key": "routing.http.xff_header_processing.mode", "Value": "remove"}])
        assert "x-forwarded-for" not in _headers(url, **{"X-Forwarded-For": "198.51.100.1"})


def test_http10_request_without_host_gets_the_lb_name(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        url = _setup(elbv2, subnets, vpc_id, emulator_url, backend)
        response = raw(address(url), b"GET /old HTTP/1.0\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 200")
        dns = elbv2.describe_load_balancers()["LoadBalancers"][0]["DNSName"]
        assert f'["Host", "{dns}:{address(url)[1]}"]'.encode() in response
