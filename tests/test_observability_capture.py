"""What the data plane reports to the observer (``api_models.observations``), field by field, for real traffic:
ALB requests (forwarded, fixed-response, redirect, a dead target's 502, HTTP/2), ALB connections, NLB flows
(TCP, TLS, UDP) and health checks. A collecting consumer is subscribed to the session server's hub for the
test, and ``flush`` hands it everything reported so far."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import requests
import trustme

from api_models.observations import ConnectionRecord, FlowRecord, RequestRecord
from emulator.observability.hub import Batch
from tests import nlb_support
from tests.alb_support import address, alb, forward, free_port, listener, listener_url, target_group, wait_for
from tests.alb_tls_support import import_certificate
from tests.backends import HttpEcho, TcpEcho, UdpEcho
from tests.h2_support import HOST, client_context


class Collector:
    """A hub consumer that keeps every record it is handed."""

    def __init__(self) -> None:
        self.records: list[object] = []
        self.lock = threading.Lock()

    def take(self, batch: Batch) -> None:
        with self.lock:
            self.records += [*batch.requests, *batch.flows, *batch.connections, *batch.health_checks]

    def tick(self, now: float) -> None:
        pass

    def flush(self) -> None:
        pass

    def of(self, kind: type, **match: object) -> list:
        with self.lock:
            return [r for r in self.records if isinstance(r, kind)
                    and all(getattr(r, name) == value for name, value in match.items())]


@pytest.fixture
def collector(emulator_server) -> Iterator[Collector]:
    hub = emulator_server.observations
    assert hub is not None, "the session server observes traffic"
    collector = Collector()
    hub.subscribe(collector, every_request=True)  # (listeners created from now on hand over every record)
    yield collector
    hub.unsubscribe(collector)


def _requests(emulator_server, collector: Collector, count: int, **match: object) -> list[RequestRecord]:
    """The request records matching ``match``, once ``count`` of them were reported (a record is reported when
    its exchange ends, which may be just after the client read the response)."""
    def reported() -> list[RequestRecord] | None:
        emulator_server.observations.flush()
        found = collector.of(RequestRecord, **match)
        return found if len(found) >= count else None

    return wait_for(reported)


def test_alb_http1_requests(elbv2, subnets, vpc_id, emulator_url, emulator_server, collector):
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [backend])
        arn = listener(elbv2, lb, forward(tg))
        elbv2.create_rule(ListenerArn=arn, Priority=5, Conditions=[
            {"Field": "path-pattern", "Values": ["/fixed"]}], Actions=[
            {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "418", "MessageBody": "teapot"}}])
        elbv2.create_rule(ListenerArn=arn, Priority=7, Conditions=[
            {"Field": "path-pattern", "Values": ["/moved"]}], Actions=[
            {"Type": "redirect", "RedirectConfig": {"Host": "example.com", "StatusCode": "HTTP_301"}}])
        url = listener_url(emulator_url, arn)
        host, port = address(url)
        started = time.time()
        with requests.Session() as session:  # (closed here: the connection's closed record follows)
            forwarded = session.get(f"{url}/hello?x=1", headers={"User-Agent": "capture-test"})
        assert forwarded.status_code == 200
        trace = {k.lower(): v for k, v in json.loads(forwarded.text)["headers"]}["x-amzn-trace-id"]
        response_size = len(forwarded.content) + _head_size(forwarded)
        del forwarded  # (its file object holds the socket open: the connection closes once it is gone)
        assert requests.get(f"{url}/fixed").status_code == 418
        assert requests.get(f"{url}/moved", allow_redirects=False).status_code == 301

    [record] = _requests(emulator_server, collector, 1, listener_arn=arn, matched_rule_priority=0)
    assert (record.load_balancer_arn, record.type, record.client_ip) == (lb, "http", "127.0.0.1")
    assert record.client_port > 0
    assert (record.method, record.url, record.protocol) == ("GET", f"http://{host}:{port}/hello?x=1", "HTTP/1.1")
    assert record.user_agent == "capture-test"
    assert record.actions_executed == "forward"
    assert (record.target_group_arn, record.target_ip, record.target_port) == (tg, backend.host, backend.port)
    assert record.trace_id == trace
    assert (record.elb_status_code, record.target_status_code) == (200, 200)
    assert started <= record.request_creation_time <= record.forwarded_time <= record.response_time
    assert record.response_time <= record.end_time <= time.time()
    assert record.received_bytes > len("GET /hello?x=1 HTTP/1.1\r\n\r\n")
    assert record.sent_bytes == response_size
    assert (record.error_reason, record.classification, record.redirect_url) == ("-", "-", "-")
    assert record.conn_trace_id.startswith("TID_") and len(record.conn_trace_id) == 36
    assert record.ssl_cipher == record.ssl_protocol == record.domain_name == record.chosen_cert_arn == "-"

    opened, closed = _connections(emulator_server, collector, record.conn_trace_id)
    assert (opened.load_balancer_arn, opened.listener_arn, opened.listener_port) == (lb, arn, port)
    assert (opened.client_ip, opened.client_port) == (record.client_ip, record.client_port)
    assert (opened.closed, opened.rejected, closed.closed, closed.rejected) == (False, False, True, False)
    assert opened.time <= record.request_creation_time and record.end_time <= closed.time
    assert (opened.tls_protocol, opened.tls_handshake_latency, opened.tls_verify_status) == ("-", -1.0, "-")

    [fixed] = _requests(emulator_server, collector, 1, listener_arn=arn, matched_rule_priority=5)
    assert fixed.actions_executed == "fixed-response"
    assert (fixed.elb_status_code, fixed.target_status_code, fixed.target_ip) == (418, None, None)
    assert (fixed.target_group_arn, fixed.forwarded_time, fixed.response_time) == ("-", -1.0, -1.0)

    [moved] = _requests(emulator_server, collector, 1, listener_arn=arn, matched_rule_priority=7)
    assert moved.actions_executed == "redirect"
    assert moved.elb_status_code == 301
    assert moved.redirect_url == f"http://example.com:{port}/moved"  # (#{port} is kept by default)


def _connections(emulator_server, collector: Collector, conn_trace_id: str) -> list[ConnectionRecord]:
    """The connection's opened and closed records, once both were reported."""
    def reported() -> list[ConnectionRecord] | None:
        emulator_server.observations.flush()
        found = collector.of(ConnectionRecord, conn_trace_id=conn_trace_id)
        return sorted(found, key=lambda r: r.closed) if len(found) >= 2 else None

    return wait_for(reported)


def _head_size(response: requests.Response) -> int:
    """The response head's size on the wire, as the LB wrote it (status line, headers, blank line)."""
    raw = response.raw
    lines = [f"HTTP/1.1 {response.status_code} {response.reason}"]
    lines += [f"{name}: {value}" for name, value in raw.headers.items()]
    return len("\r\n".join(lines)) + 4


def test_alb_dead_target_502(elbv2, subnets, vpc_id, emulator_url, emulator_server, collector):
    with HttpEcho("health") as checks, HttpEcho() as backend:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [backend], health=checks)
        arn = listener(elbv2, lb, forward(tg))
        url = listener_url(emulator_url, arn)
        backend.stop()
        assert requests.get(f"{url}/gone").status_code == 502

    [record] = _requests(emulator_server, collector, 1, listener_arn=arn)
    assert record.actions_executed == "forward"
    assert (record.elb_status_code, record.target_status_code) == (502, None)
    assert (record.target_ip, record.target_port, record.target_group_arn) == (backend.host, backend.port, tg)
    assert record.forwarded_time == -1.0  # the request never reached the target
    assert record.sent_bytes > 0


def test_alb_abandoned_request_is_460(elbv2, subnets, vpc_id, emulator_url, emulator_server, collector):
    with HttpEcho("health") as checks, HttpEcho() as backend:
        backend.delay = 0.5
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [backend], health=checks)
        arn = listener(elbv2, lb, forward(tg))
        with socket.create_connection(address(listener_url(emulator_url, arn))) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_for(lambda: backend.requests)  # the request is with the target: the client leaves

        [record] = _requests(emulator_server, collector, 1, listener_arn=arn)
    assert (record.elb_status_code, record.target_status_code, record.sent_bytes) == (460, None, 0)
    assert record.forwarded_time > 0 and record.response_time == -1.0


def test_alb_https_http2_request_and_connection(elbv2, acm, subnets, vpc_id, emulator_url, emulator_server,
                                                collector):
    ca = trustme.CA()
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [backend])
        cert = import_certificate(acm, ca, HOST)
        arn = listener(elbv2, lb, forward(tg), protocol="HTTPS", Certificates=[{"CertificateArn": cert}])
        host, port = address(listener_url(emulator_url, arn))
        with httpx.Client(http2=True, verify=client_context(ca), headers={"Host": HOST}, timeout=10) as client:
            response = client.get(f"https://{host}:{port}/h2?q=1", extensions={"sni_hostname": HOST})
        assert response.http_version == "HTTP/2" and response.status_code == 200

    [record] = _requests(emulator_server, collector, 1, listener_arn=arn)
    assert (record.type, record.protocol, record.method) == ("h2", "HTTP/2.0", "GET")
    assert record.url == f"https://{HOST}:{port}/h2?q=1"
    assert record.ssl_protocol in ("TLSv1.2", "TLSv1.3") and record.ssl_cipher not in ("", "-")
    assert (record.domain_name, record.chosen_cert_arn) == (HOST, cert)
    assert (record.elb_status_code, record.target_status_code, record.target_group_arn) == (200, 200, tg)
    assert record.sent_bytes == len(response.content)  # (HTTP/2: the body's bytes; HPACK heads are not counted)
    assert record.actions_executed == "forward" and record.matched_rule_priority == 0

    opened, closed = _connections(emulator_server, collector, record.conn_trace_id)
    assert (opened.tls_protocol, opened.tls_cipher) == (record.ssl_protocol, record.ssl_cipher)
    assert 0 < opened.tls_handshake_latency < 5
    assert opened.leaf_client_cert_subject == "-" and closed.closed


def _flows(emulator_server, collector: Collector, count: int, **match: object) -> list[FlowRecord]:
    def reported() -> list[FlowRecord] | None:
        emulator_server.observations.flush()
        found = collector.of(FlowRecord, **match)
        return found if len(found) >= count else None

    return wait_for(reported)


def test_nlb_tls_flow(elbv2, acm, subnets, vpc_id, emulator_url, emulator_server, collector):
    ca = trustme.CA()
    with TcpEcho() as backend:
        tg = nlb_support.target_group(elbv2, vpc_id, "tls-flow", ports=[backend.port])
        cert = import_certificate(acm, ca, "a.example.com")
        lb = nlb_support.nlb(elbv2, subnets)
        arn = nlb_support.listener(elbv2, lb, tg, protocol="TLS", port=free_port(),
                                   Certificates=[{"CertificateArn": cert}], AlpnPolicy=["HTTP2Preferred"])
        nlb_support.wait_healthy(elbv2, tg)
        host, port = nlb_support.listener_address(emulator_url, arn)
        context = ssl.create_default_context()
        ca.configure_trust(context)
        context.set_alpn_protocols(["h2"])
        started = time.time()
        with socket.create_connection((host, port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="a.example.com") as tls:
            tls.sendall(b"hello")
            assert tls.recv(100) == b"hello"
            version, cipher = tls.version(), tls.cipher()[0]

        [flow] = _flows(emulator_server, collector, 1, listener_arn=arn)
    assert (flow.load_balancer_arn, flow.protocol, flow.client_ip, flow.listener_port) == (lb, "TLS", "127.0.0.1", port)
    assert (flow.target_group_arn, flow.target_ip, flow.target_port) == (tg, "127.0.0.1", backend.port)
    assert (flow.received_bytes, flow.sent_bytes) == (5, 5)
    assert (flow.tls_protocol_version, flow.tls_cipher) == (version, cipher)
    assert (flow.domain_name, flow.chosen_cert_arn, flow.alpn_fe_protocol) == ("a.example.com", cert, "h2")
    assert 0 < flow.tls_handshake_time < 5
    assert started <= flow.start_time <= flow.end_time <= time.time()
    assert not (flow.client_reset or flow.target_reset or flow.elb_reset)


def test_nlb_tcp_flow_without_targets_is_reset_by_the_lb(elbv2, subnets, vpc_id, emulator_url, emulator_server,
                                                          collector):
    tg = nlb_support.target_group(elbv2, vpc_id, "empty")
    arn = nlb_support.listener(elbv2, nlb_support.nlb(elbv2, subnets), tg, port=free_port())
    # (the reset may come while create_connection still waits for its connect to complete: either raises it)
    with pytest.raises(ConnectionResetError), \
            socket.create_connection(nlb_support.listener_address(emulator_url, arn), timeout=5) as sock:
        sock.recv(10)

    [flow] = _flows(emulator_server, collector, 1, listener_arn=arn)
    assert (flow.protocol, flow.elb_reset, flow.client_reset, flow.target_reset) == ("TCP", True, False, False)
    assert (flow.target_ip, flow.received_bytes, flow.sent_bytes, flow.tls_cipher) == (None, 0, 0, "-")


def test_nlb_udp_flow(elbv2, subnets, vpc_id, emulator_url, emulator_server, collector):
    with TcpEcho() as health, UdpEcho(b"re:") as backend:
        tg = nlb_support.target_group(elbv2, vpc_id, "udp-flow", protocol="UDP", ports=[backend.port],
                                      HealthCheckProtocol="TCP", HealthCheckPort=str(health.port))
        arn = nlb_support.listener(elbv2, nlb_support.nlb(elbv2, subnets), tg, protocol="UDP", port=free_port())
        nlb_support.wait_healthy(elbv2, tg)
        address_ = nlb_support.listener_address(emulator_url, arn)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(3)
            sock.sendto(b"ping", address_)
            assert sock.recvfrom(100)[0] == b"re:ping"
            client_port = sock.getsockname()[1]
        elbv2.delete_listener(ListenerArn=arn)  # (its flows end with it: reported at once, not after idling)
        backend_port = backend.port

        [flow] = _flows(emulator_server, collector, 1, listener_arn=arn)
    assert (flow.protocol, flow.client_port, flow.target_port, flow.target_group_arn) == (
        "UDP", client_port, backend_port, tg)
    assert (flow.received_bytes, flow.sent_bytes) == (4, 7)
    assert flow.end_time >= flow.start_time > 0
