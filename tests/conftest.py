"""Shared fixtures: one live emulator per test session, reached over HTTP exactly as a user reaches it.

Each test starts from a clean slate (``POST /moto-api/reset``), so tests never see each other's
resources. Backend servers that receive load-balanced traffic are started by the tests on 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
import requests

from emulator.server import EmulatorServer

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# The suite's load balancers are created without security groups, and an ALB's default group admits no local
# client: every server the suite starts (in process or not) admits all sources, except in
# test_security_groups.py, which starts its own server with enforcement on.
os.environ.setdefault("ELBV2_EMULATOR_SECURITY_GROUPS", "off")
REGION = "us-east-1"


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(port=0).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def emulator_url(emulator_server: EmulatorServer) -> str:
    return emulator_server.url


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> None:
    if "emulator_url" in request.fixturenames:
        url = request.getfixturevalue("emulator_url")
        requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()


@pytest.fixture
def elbv2(emulator_url: str):
    return boto3.client("elbv2", endpoint_url=emulator_url, region_name=REGION)


@pytest.fixture
def ec2(emulator_url: str):
    return boto3.client("ec2", endpoint_url=emulator_url, region_name=REGION)


@pytest.fixture
def acm(emulator_url: str):
    return boto3.client("acm", endpoint_url=emulator_url, region_name=REGION)


@pytest.fixture
def subnets(ec2) -> list[str]:
    """Two default-VPC subnets in different availability zones (an ALB needs two AZs)."""
    by_zone: dict[str, str] = {}
    for subnet in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]:
        by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    return [by_zone[zone] for zone in sorted(by_zone)][:2]


@pytest.fixture
def vpc_id(ec2) -> str:
    return ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
