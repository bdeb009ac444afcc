"""Health checks of NLB (TCP) target groups: TCP connect and HTTP checks, NLB reasons, flows of unhealthy targets.

References: AWS "Health checks for Network Load Balancer target groups" (Target.FailedHealthChecks is the only
unhealthy reason on an NLB; HTTP checks match 200-399 by default), the NLB target group attribute
``target_health_state.unhealthy.connection_termination.enabled`` (default true: flows are reset).
"""

from __future__ import annotations

import socket

import pytest

from tests.backends import HttpEcho, TcpEcho
from tests.health_support import RecordingBackend, health, watch_until
from tests.nlb_support import connect, listener, listener_address, nlb, recv_exactly, target_group

HEALTHY = {"State": "healthy"}
FAILED = {"State": "unhealthy", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"}


def _greeting(address: tuple[str, int]) -> bytes:
    with connect(address) as sock:
        return recv_exactly(sock, 1)


def _flow_to(address: tuple[str, int], greeting: bytes) -> socket.socket:
    """An open connection through the NLB that landed on the target greeting with ``greeting``."""
    for _ in range(200):
        sock = connect(address)
        if recv_exactly(sock, 1) == greeting:
            return sock
        sock.close()
    raise AssertionError(f"no flow reached target {greeting!r}")


def test_tcp_check_follows_the_listening_port_and_routing_follows_health(emulator_url, elbv2, vpc_id, subnets):
    with TcpEcho(b"A") as a:
        b = TcpEcho(b"B").__enter__()
        tg = target_group(elbv2, vpc_id, "tcp", ports=[a.port, b.port], HealthCheckIntervalSeconds=10, UnhealthyThresholdCount=2)
        address = listener_address(emulator_url, listener(elbv2, nlb(elbv2, subnets), tg))
        assert health(elbv2, tg, a.port) == health(elbv2, tg, b.port) == HEALTHY
        assert {_greeting(address) for _ in range(40)} == {b"A", b"B"}
        b.__exit__(None, None, None)  # stop listening: connects are refused
        assert watch_until(elbv2, tg, b.port, FAILED) == [HEALTHY, FAILED]
        assert {_greeting(address) for _ in range(20)} == {b"A"}


@pytest.mark.parametrize("terminate", ["true", "false"])
def test_flows_of_a_target_turning_unhealthy_are_reset_unless_disabled(emulator_url, elbv2, vpc_id, subnets, terminate):
    attributes = {"target_health_state.unhealthy.connection_termination.enabled": terminate}
    with TcpEcho(b"A") as a:
        b = TcpEcho(b"B").__enter__()
        tg = target_group(elbv2, vpc_id, "tcp", ports=[a.port, b.port], attributes=attributes, UnhealthyThresholdCount=2)
        address = listener_address(emulator_url, listener(elbv2, nlb(elbv2, subnets), tg))
        with _flow_to(address, b"B") as flow:
            b.__exit__(None, None, None)  # new connects are refused; the open one still echoes
            watch_until(elbv2, tg, b.port, FAILED)
            if terminate == "true":
                with pytest.raises(ConnectionResetError):
                    flow.sendall(b"ping")
                    while flow.recv(65536):
                        pass
            else:
                flow.sendall(b"ping")
                assert recv_exactly(flow, 4) == b"ping"


def test_nlb_http_check_matches_200_399_and_reports_only_failed_health_checks(emulator_url, elbv2, vpc_id, subnets):
    with HttpEcho() as backend:
        backend.status = 302
        tg = target_group(elbv2, vpc_id, "tcp", ports=[backend.port], HealthCheckProtocol="HTTP", HealthCheckPath="/",
                          UnhealthyThresholdCount=2, HealthyThresholdCount=2)
        listener(elbv2, nlb(elbv2, subnets), tg)
        assert health(elbv2, tg, backend.port) == HEALTHY
        backend.delay = 1.0  # a timeout: an ALB would say Target.Timeout
        assert watch_until(elbv2, tg, backend.port, FAILED) == [HEALTHY, FAILED]
        backend.delay = 0.0
        assert watch_until(elbv2, tg, backend.port, HEALTHY) == [FAILED, HEALTHY]
        backend.status = 404  # an ALB would say Target.ResponseCodeMismatch
        assert watch_until(elbv2, tg, backend.port, FAILED) == [HEALTHY, FAILED]


def test_nlb_http_check_sends_the_nlb_address_and_listener_port_as_host(emulator_url, elbv2, vpc_id, subnets):
    recorder = RecordingBackend()
    tg = target_group(elbv2, vpc_id, "tcp", ports=[recorder.port], HealthCheckProtocol="HTTP", HealthCheckPath="/hc")
    host, _ = listener_address(emulator_url, listener(elbv2, nlb(elbv2, subnets), tg, port=7001))
    recorder.close()
    lines = recorder.requests[0].decode().split("\r\n")
    assert lines[0] == "GET /hc HTTP/1.1"
    assert f"Host: {host}:7001" in lines  # AWS: the NLB's IP and the listener port, not the target's
