"""A process with few file descriptors (``ulimit -n 256``) and 400 idle clients on one listener: the listener
stops at its connection cap and resets the rest, and the API stays responsive and idle instead of spinning."""

from __future__ import annotations

import resource
import socket
import time
from contextlib import closing

import boto3
import requests

from tests.alb_support import free_port, wait_for
from tests.server_process import cpu_seconds, emulator_process

NOFILE = 256


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def _connect(addr: tuple[str, int]) -> socket.socket | None:
    try:
        return socket.create_connection(addr, timeout=2)
    except OSError:
        return None


def _answered(addr: tuple[str, int]) -> bool:
    sock = _connect(addr)
    if sock is None:
        return False
    with closing(sock):
        try:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            return sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        except OSError:
            return False


def test_idle_clients_cannot_take_the_api_down():
    clients: list[socket.socket] = []
    with emulator_process(preexec_fn=_limited) as (url, process):
        try:
            _exercise(url, process.pid, clients)
        finally:
            for sock in clients:
                sock.close()


def _exercise(url: str, pid: int, clients: list[socket.socket]) -> None:
    elbv2 = boto3.client("elbv2", endpoint_url=url, region_name="us-east-1",
                         aws_access_key_id="testing", aws_secret_access_key="testing")
    ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    lb = elbv2.create_load_balancer(Name="busy", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    arn = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=free_port(), DefaultActions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])["Listeners"][0]["ListenerArn"]
    entry = next(e for e in requests.get(f"{url}/_emulator/listeners", timeout=5).json() if e["ListenerArn"] == arn)
    host, _, listener_port = entry["Address"].rpartition(":")
    addr = (host, int(listener_port))

    clients += [sock for sock in (_connect(addr) for _ in range(400)) if sock is not None]
    cpu_before, started = cpu_seconds(pid), time.monotonic()
    for _ in range(20):  # the API keeps accepting connections and answering, quickly
        call = time.monotonic()
        fresh = requests.get(f"{url}/_emulator/listeners", headers={"Connection": "close"}, timeout=5)
        assert fresh.json()[0]["ListenerArn"] == arn
        assert elbv2.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"] == lb
        assert time.monotonic() - call < 2
    wait_for(lambda: time.monotonic() - started > 1, timeout=3)
    busy = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - started)
    assert busy < 0.5, f"the emulator used {busy:.0%} of a core while 400 clients sat idle"

    for sock in clients:
        sock.close()
    clients.clear()
    wait_for(lambda: _answered(addr), timeout=10)  # descriptors back: the listener serves again
