"""Listeners reached through the API port by Host (issue 12, point 2): the load balancer's DNS name or
``<name>.elb.localhost``, with an optional listener-port label, on the same port as the API."""

from __future__ import annotations

import socket

import requests
import trustme

from tests.alb_support import alb, forward, listener, target_group, wait_checked
from tests.alb_tls_support import import_certificate
from tests.backends import HttpEcho


def _via_api(emulator_url: str, host: str, path: str = "/") -> requests.Response:
    return requests.get(f"{emulator_url}{path}", headers={"Host": host}, timeout=5)


def test_host_names_a_load_balancer_and_its_listener(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets, name="web")
        dns = elbv2.describe_load_balancers(LoadBalancerArns=[lb])["LoadBalancers"][0]["DNSName"]
        tg = target_group(elbv2, vpc_id, "web", [backend])
        listener(elbv2, lb, forward(tg), port=80)
        listener(elbv2, lb, [{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "418", "ContentType": "text/plain", "MessageBody": "the 8080 listener"}}], port=8080)
        wait_checked(elbv2, tg)

        by_dns = _via_api(emulator_url, dns, "/shop?q=1")
        short = _via_api(emulator_url, "web.elb.localhost:4566", "/cart")
        other = _via_api(emulator_url, "8080.web.elb.localhost")
        missing = _via_api(emulator_url, "9999.web.elb.localhost")
        api = requests.get(f"{emulator_url}/_emulator/health", timeout=5)

    assert by_dns.status_code == 200 and by_dns.json()["path"] == "/shop?q=1"
    seen = {k.lower(): v for k, v in by_dns.json()["headers"]}
    # As if the client had reached the listener: its own address and the listener's port in X-Forwarded-*.
    assert seen["x-forwarded-for"] == "127.0.0.1" and seen["x-forwarded-port"] == "80"
    assert seen["host"] == dns and "x-amzn-trace-id" in seen
    assert short.status_code == 200 and short.json()["path"] == "/cart"
    assert (other.status_code, other.text) == (418, "the 8080 listener")
    assert missing.status_code == 404 and "no listener on port 9999" in missing.text
    assert "HTTP:80" in missing.text and "HTTP:8080" in missing.text
    assert api.json() == {"status": "ready"}  # any other Host is the API's


def test_the_whole_connection_is_the_listeners(elbv2, subnets, emulator_url):
    lb = alb(elbv2, subnets, name="kept")
    listener(elbv2, lb, [{"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": "200", "ContentType": "text/plain", "MessageBody": "lb"}}], port=80)
    host, port = emulator_url.split("://")[1].split(":")
    request = b"GET / HTTP/1.1\r\nHost: kept.elb.localhost\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        answers = []
        for _ in range(2):  # keep-alive: the second request on the connection goes to the listener too
            sock.sendall(request)
            data = b""
            while not data.endswith(b"lb"):
                data += sock.recv(65536)
            answers.append(data)
    assert all(a.startswith(b"HTTP/1.1 200 OK\r\n") and b"server: awselb/2.0" in a.lower() for a in answers)


def test_an_https_listener_cannot_be_reached_over_the_plain_api_port(elbv2, subnets, emulator_url, acm):
    lb = alb(elbv2, subnets, name="tls")
    cert = import_certificate(acm, trustme.CA())
    elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": cert}],
                          DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    answer = _via_api(emulator_url, "443.tls.elb.localhost")
    assert answer.status_code == 404 and "not plain HTTP" in answer.text
