"""Flow termination on NLB target groups: deregistration draining and unhealthy targets.

A deregistered target gets no new flows; its existing flows continue through the delay
(``deregistration_delay.timeout_seconds``, 100 s here, 1 s on the fast clock) and are then reset when
``deregistration_delay.connection_termination.enabled`` is "true", or left alone when it is "false"
(NLB guide "Deregistration delay"). A target that turns unhealthy has its flows reset unless
``target_health_state.unhealthy.connection_termination.enabled`` is "false".
"""

from __future__ import annotations

import pytest

from tests.backends import TcpEcho
from tests.nlb_support import connect, listener, listener_address, nlb, recv_exactly, target_group, wait_for


def _target_of(sock, greetings: set[bytes]) -> bytes:
    sock.sendall(b"?")
    data = recv_exactly(sock, 2)
    assert data[:1] in greetings and data[1:] == b"?"
    return data[:1]


def _gone(elbv2, tg: str, port: int) -> bool:
    descriptions = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    return all(d["Target"]["Port"] != port for d in descriptions)


@pytest.mark.parametrize("terminate", ["true", "false"])
def test_draining_target_keeps_its_flows_for_the_delay(emulator_url, elbv2, vpc_id, subnets, terminate):
    with TcpEcho(b"A") as a, TcpEcho(b"B") as b:
        ports = {b"A": a.port, b"B": b.port}
        tg = target_group(elbv2, vpc_id, "drain", ports=list(ports.values()), attributes={
            "deregistration_delay.timeout_seconds": "100",
            "deregistration_delay.connection_termination.enabled": terminate,
        })
        address = listener_address(emulator_url, listener(elbv2, nlb(elbv2, subnets), tg))
        with connect(address, timeout=5) as old:
            name = _target_of(old, set(ports))
            elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": ports[name]}])
            for _ in range(10):  # no new flow reaches the draining target
                with connect(address) as new:
                    assert _target_of(new, set(ports)) != name
            old.sendall(b"still")  # the draining target's flow continues through the delay
            assert recv_exactly(old, 5) == b"still"
            wait_for(lambda: _gone(elbv2, tg, ports[name]))  # the delay is over
            if terminate == "true":
                with pytest.raises(ConnectionResetError):
                    wait_for(lambda: old.recv(1) == b"")  # reset, not a clean end of stream
            else:
                old.sendall(b"after")
                assert recv_exactly(old, 5) == b"after"


def _state(elbv2, tg: str) -> str:
    return elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"][0]["TargetHealth"]["State"]


@pytest.mark.parametrize("terminate", ["true", "false"])
def test_unhealthy_target_flows_are_reset_unless_disabled(emulator_url, elbv2, vpc_id, subnets, terminate):
    # NLB guide "Target health": unhealthy targets' connections are reset when
    # target_health_state.unhealthy.connection_termination.enabled is true (the default).
    health = TcpEcho().__enter__()
    with TcpEcho(b"A") as a:
        tg = target_group(elbv2, vpc_id, "sick", ports=[a.port], HealthCheckPort=str(health.port), attributes={
            "target_health_state.unhealthy.connection_termination.enabled": terminate,
        })
        address = listener_address(emulator_url, listener(elbv2, nlb(elbv2, subnets), tg))
        wait_for(lambda: _state(elbv2, tg) == "healthy")
        with connect(address, timeout=5) as flow:
            assert _target_of(flow, {b"A"}) == b"A"
            health.__exit__(None, None, None)  # health checks start failing; traffic still works
            wait_for(lambda: _state(elbv2, tg).startswith("unhealthy"), timeout=10)
            if terminate == "true":
                with pytest.raises(ConnectionResetError):
                    wait_for(lambda: flow.recv(1) == b"")
            else:
                flow.sendall(b"alive")
                assert recv_exactly(flow, 5) == b"alive"
