"""``serve --log-requests``: each ALB request and NLB flow printed on stdout in AWS's access-log form, as it
happens (the emulator runs in a subprocess; the test reads its output)."""

from __future__ import annotations

import queue
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import requests

from tests.alb_support import alb, free_port, listener, listener_url
from tests.backends import TcpEcho
from tests.conftest import REGION
from tests.nlb_support import listener as nlb_listener
from tests.nlb_support import listener_address, nlb, wait_healthy
from tests.nlb_support import target_group as nlb_target_group
from tests.s3_logs_support import ALB_ACCESS_LOG_COLUMNS, ALB_ACCESS_LOG_REGEX, parse
from tests.server_process import emulator_process


@contextmanager
def _printing_emulator() -> Iterator[tuple[str, queue.Queue[str]]]:
    """(API URL, the lines it prints on stdout) of ``serve --log-requests``."""
    with emulator_process("--log-requests", stdout=subprocess.PIPE) as (url, process):
        lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in process.stdout], daemon=True).start()
        yield url, lines


def _next_line(lines: queue.Queue[str], containing: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if containing in line:
            return line
    raise AssertionError(f"no line with {containing!r} printed in time")


def test_log_requests_prints_each_request_and_flow():
    with _printing_emulator() as (url, lines), TcpEcho(b"echo:") as echo:
        elbv2 = boto3.client("elbv2", endpoint_url=url, region_name=REGION)
        ec2 = boto3.client("ec2", endpoint_url=url, region_name=REGION)
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
        lb = alb(elbv2, subnets[:2], "printed")
        arn = listener(elbv2, lb, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "202"}}])
        assert requests.get(f"{listener_url(url, arn)}/printed-path", timeout=5).status_code == 202

        entry = parse(ALB_ACCESS_LOG_REGEX, ALB_ACCESS_LOG_COLUMNS, _next_line(lines, "/printed-path"))
        assert entry["elb"] == lb.split(":loadbalancer/")[1]
        assert (entry["elb_status_code"], entry["actions_executed"]) == ("202", "fixed-response")

        network = nlb(elbv2, subnets[:2], "printed-nlb")
        tg = nlb_target_group(elbv2, vpc, "printed-tcp", ports=[echo.port])
        flow_listener = nlb_listener(elbv2, network, tg, port=free_port())
        wait_healthy(elbv2, tg)
        with socket.create_connection(listener_address(url, flow_listener), timeout=5) as flow:
            flow.sendall(b"ping")
            assert flow.recv(1024).startswith(b"echo:")
        fields = _next_line(lines, network.split(":loadbalancer/")[1]).split(" ")
        assert fields[:2] == ["tcp", "2.0"]
        assert fields[4] == flow_listener.rsplit("/", 1)[1]
        assert fields[6] == f"127.0.0.1:{echo.port}"
