"""HTTP/2 on HTTPS listeners: ALPN h2 unless routing.http2.enabled is false, each stream
routed by the rules and forwarded as HTTP/1.1 to HTTP1 target groups and as HTTP/2 to HTTP2 ones, at most
128 concurrent streams, GOAWAY after 10,000 requests, streamed bodies both ways, 464 on version mismatches."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest
import trustme

from tests.alb_support import RawBackend, alb, forward, read_head, target_group
from tests.backends import HttpEcho
from tests.h2_support import HOST, H2Client, H2Echo, client_context, https_listener

N_STREAMS = 300


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _client(ca: trustme.CA, addr: tuple[str, int], **extra) -> httpx.Client:
    return httpx.Client(http2=True, verify=client_context(ca), base_url=f"https://{addr[0]}:{addr[1]}",
                        headers={"Host": HOST}, timeout=10, **extra)


def test_h2_streams_routed_and_forwarded_as_http11(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    with HttpEcho("api") as api, HttpEcho("web") as web:
        lb = alb(elbv2, subnets)
        arn, addr = https_listener(elbv2, acm, emulator_url, ca, lb, forward(target_group(elbv2, vpc_id, "web", [web])))
        elbv2.create_rule(ListenerArn=arn, Priority=1, Actions=forward(target_group(elbv2, vpc_id, "api", [api])),
                          Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}])
        with _client(ca, addr) as client:
            response = client.get("/api/items?q=1", headers={"Cookie": "a=1", "X-Forwarded-For": "10.0.0.9"},
                                  cookies=None)
            assert response.http_version == "HTTP/2" and response.status_code == 200
            echoed = response.json()
            assert echoed["backend"] == "api" and echoed["path"] == "/api/items?q=1"
            headers = {k.lower(): v for k, v in echoed["headers"]}
            assert headers["host"] == HOST + f":{addr[1]}"
            assert headers["x-forwarded-proto"] == "https" and headers["x-forwarded-port"] == str(addr[1])
            assert headers["x-forwarded-for"] == "10.0.0.9, 127.0.0.1"
            assert headers["x-amzn-trace-id"].startswith("Root=1-")
            assert headers["cookie"] == "a=1"
            assert client.get("/other").json()["backend"] == "web"
            assert response.headers.get("connection") is None  # no HTTP/1.1 hop-by-hop fields on HTTP/2


def test_h2_disabled_by_attribute_negotiates_http11(elbv2, acm, subnets, emulator_url, ca):
    lb = alb(elbv2, subnets, attributes={"routing.http2.enabled": "false"})
    fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "MessageBody": "one"}}]
    _, addr = https_listener(elbv2, acm, emulator_url, ca, lb, fixed)
    with _client(ca, addr) as client:
        response = client.get("/")
        assert response.http_version == "HTTP/1.1" and response.text == "one"
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[{"Key": "routing.http2.enabled",
                                                                           "Value": "true"}])
    with _client(ca, addr) as client:
        assert client.get("/").http_version == "HTTP/2"


def test_many_concurrent_streams_and_lb_responses(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets)
        arn, addr = https_listener(elbv2, acm, emulator_url, ca, lb, forward(target_group(elbv2, vpc_id, "tg", [backend])))
        elbv2.create_rule(ListenerArn=arn, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/old"]}],
                          Actions=[{"Type": "redirect", "RedirectConfig": {"Path": "/new", "StatusCode": "HTTP_301"}}])

        async def run() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=1)
            async with httpx.AsyncClient(http2=True, verify=client_context(ca), limits=limits, timeout=20,
                                         base_url=f"https://{addr[0]}:{addr[1]}", headers={"Host": HOST}) as client:
                return await asyncio.gather(*(client.get(f"/n/{i}") for i in range(N_STREAMS)))

        responses = asyncio.run(run())
        assert [r.json()["path"] for r in responses] == [f"/n/{i}" for i in range(N_STREAMS)]
        with _client(ca, addr) as client:
            redirect = client.get("/old")
            assert redirect.status_code == 301 and redirect.headers["location"] == f"https://{HOST}:{addr[1]}/new"
            assert client.request("TRACE", "/x").status_code == 405
        raw = H2Client(addr, ca)
        try:
            assert raw.read({raw.request("/s")})  # the server's SETTINGS arrive with the first answer
            assert raw.settings[0x3] == 128  # SETTINGS_MAX_CONCURRENT_STREAMS
        finally:
            raw.close()


def test_large_bodies_both_ways(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    size = 8 * 1024 * 1024

    def streaming(sock: socket.socket) -> None:
        while True:
            head, rest = read_head(sock)
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")) or 0) \
                if b"content-length" in head.lower() else 0
            received = len(rest)
            while received < length:
                received += len(sock.recv(1 << 20))
            if head.startswith(b"GET"):
                sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                chunk = b"x" * 65536
                for _ in range(size // len(chunk)):
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
            else:
                body = json.dumps({"received": received}).encode()
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    with HttpEcho("health") as health, RawBackend(streaming) as backend:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "big", [backend], health=health)
        _, addr = https_listener(elbv2, acm, emulator_url, ca, lb, forward(tg))
        with _client(ca, addr) as client:
            with client.stream("GET", "/download") as response:
                assert response.http_version == "HTTP/2"
                assert sum(len(chunk) for chunk in response.iter_bytes()) == size
            upload = client.post("/upload", content=b"y" * size)
            assert upload.json() == {"received": size}


def test_goaway_after_10000_requests(elbv2, acm, subnets, emulator_url, ca):
    lb = alb(elbv2, subnets)
    fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "204"}}]
    _, addr = https_listener(elbv2, acm, emulator_url, ca, lb, fixed)
    client = H2Client(addr, ca)
    try:
        for _ in range(100):
            statuses = client.read({client.request("/") for _ in range(100)})
            assert set(statuses.values()) == {204}
        assert client.goaway is None or client.goaway.last_stream_id == 19999
        client.read({0})  # nothing more comes: the LB closes the connection after its GOAWAY
        assert client.goaway is not None and client.goaway.last_stream_id == 19999  # the 10,000th stream
    finally:
        client.close()


def test_http2_target_group_receives_http2(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    with H2Echo() as h2c, H2Echo(ca.issue_cert("127.0.0.1")) as h2tls, H2Echo() as health:
        lb = alb(elbv2, subnets)  # HTTP2 groups are checked over HTTP/2: a separate h2c backend answers the checks,
        # so the targets' connection counts are the traffic's alone
        plain = target_group(elbv2, vpc_id, "h2c", [h2c], ProtocolVersion="HTTP2", health=health)
        tls = target_group(elbv2, vpc_id, "h2tls", [h2tls], protocol="HTTPS", ProtocolVersion="HTTP2", health=health,
                           HealthCheckProtocol="HTTP")
        arn, addr = https_listener(elbv2, acm, emulator_url, ca, lb, forward(plain))
        elbv2.create_rule(ListenerArn=arn, Priority=1, Actions=forward(tls),
                          Conditions=[{"Field": "path-pattern", "Values": ["/tls/*"]}])
        with _client(ca, addr) as client:
            echoed = client.post("/plain?x=1", content=b"z" * 200_000).json()
            headers = dict(echoed["headers"])
            assert echoed["protocol"] == "h2c" and echoed["body_length"] == 200_000
            assert headers[":path"] == "/plain?x=1" and headers[":method"] == "POST"
            assert headers[":authority"] == f"{HOST}:{addr[1]}" and headers["x-forwarded-proto"] == "https"
            assert client.get("/tls/a").json()["protocol"] == "h2-tls"
            connections = h2c.connections
            for i in range(20):
                assert client.get(f"/plain/{i}").status_code == 200
            assert h2c.connections == connections  # one reused HTTP/2 connection per target


def test_protocol_version_mismatches_get_464(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    with H2Echo() as h2c, HttpEcho() as http1:
        lb = alb(elbv2, subnets)
        h2_group = target_group(elbv2, vpc_id, "h2", [h2c], ProtocolVersion="HTTP2")  # checked over HTTP/2
        grpc_group = target_group(elbv2, vpc_id, "grpc", [h2c], ProtocolVersion="GRPC",
                                  Matcher={"GrpcCode": "0-99"})
        arn, addr = https_listener(elbv2, acm, emulator_url, ca, lb, forward(target_group(elbv2, vpc_id, "h1", [http1])))
        elbv2.create_rule(ListenerArn=arn, Priority=1, Actions=forward(h2_group),
                          Conditions=[{"Field": "path-pattern", "Values": ["/h2/*"]}])
        elbv2.create_rule(ListenerArn=arn, Priority=2, Actions=forward(grpc_group),
                          Conditions=[{"Field": "path-pattern", "Values": ["/grpc/*"]}])
        with httpx.Client(http2=False, verify=client_context(ca, ("http/1.1",)), headers={"Host": HOST},
                          base_url=f"https://{addr[0]}:{addr[1]}") as http11:
            assert http11.get("/h2/x").status_code == 464  # HTTP/1.1 -> HTTP2 group
            assert http11.post("/grpc/x").status_code == 464  # HTTP/1.1 -> GRPC group
            assert http11.get("/plain").status_code == 200
        with _client(ca, addr) as client:
            assert client.get("/grpc/x").status_code == 464  # not POST -> GRPC group
            grpc_to_http1 = client.post("/plain", content=b"", headers={"content-type": "application/grpc"})
            assert grpc_to_http1.status_code == 464  # gRPC -> HTTP1 group
            assert client.get("/h2/x").status_code == 200
            assert client.post("/plain", content=b"{}").status_code == 200
