"""The server as a user meets it: health endpoint, moto services on the same endpoint, errors."""

from __future__ import annotations

import subprocess
import sys
import time

import requests


def test_health_endpoint_answers_ready(emulator_url: str) -> None:
    response = requests.get(f"{emulator_url}/_emulator/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_other_services_are_served_by_moto_on_the_same_endpoint(ec2, subnets) -> None:
    assert len(subnets) == 2
    assert ec2.describe_vpcs()["Vpcs"]


def test_unknown_action_is_invalid_action(emulator_url: str) -> None:
    body = {"Action": "FlyToTheMoon", "Version": "2015-12-01"}
    response = requests.post(emulator_url, data=body, timeout=5)
    assert response.status_code == 400
    assert "<Code>InvalidAction</Code>" in response.text
    assert response.headers["x-amzn-RequestId"]


def test_validation_error_is_aws_shaped(emulator_url: str) -> None:
    # boto3 validates PageSize itself, so send the request raw, as a less careful SDK might.
    body = {"Action": "DescribeLoadBalancers", "Version": "2015-12-01", "PageSize": "0"}
    response = requests.post(emulator_url, data=body, timeout=5)
    assert response.status_code == 400
    assert "<Code>ValidationError</Code>" in response.text
    assert "Value '0' at 'pageSize' failed to satisfy constraint" in response.text


def test_cli_serve_becomes_ready(tmp_path) -> None:
    """`elbv2-emulator serve` answers /_emulator/health (its start-up time is measured by scripts/bench_startup.py)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator.cli", "serve", "--port", str(port), "--state-dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready_after = None
        while time.monotonic() - started < 10:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1).ok:
                    ready_after = time.monotonic() - started
                    break
            except requests.ConnectionError:
                time.sleep(0.02)
        assert ready_after is not None, "server never became ready"
    finally:
        process.terminate()
        process.wait(timeout=10)
