"""``Elbv2Emulator``: what the ``elbv2_emulator`` fixture hands a test — the endpoint, clients made for it,
and the two lookups a test needs besides the API (where a DNS name points, where a listener listens)."""

from __future__ import annotations

import time
from typing import Any

import boto3
import requests

DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class Elbv2Emulator:
    """An emulator endpoint: in this process (``server`` set) or an external one (``server`` None)."""

    def __init__(self, url: str, region: str, server: Any | None = None, started_in: float = 0.0) -> None:
        self.url = url.rstrip("/")
        self.region = region
        self.server = server  # the in-process ``emulator.server.EmulatorServer``, if this session started one
        self.started_in = started_in  # seconds from the fixture's start to the endpoint answering

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client on the emulator (any service: elbv2, ec2, acm, s3, ...)."""
        return boto3.client(service, endpoint_url=self.url, region_name=kwargs.pop("region_name", self.region),
                            **DUMMY_CREDENTIALS, **kwargs)

    def resource(self, service: str, **kwargs: Any) -> Any:
        """A boto3 resource on the emulator (ec2, s3, ...)."""
        return boto3.resource(service, endpoint_url=self.url, region_name=kwargs.pop("region_name", self.region),
                              **DUMMY_CREDENTIALS, **kwargs)

    def address(self, dns_name: str) -> str:
        """The loopback address a load balancer's DNSName resolves to (``GET /_emulator/dns``)."""
        return str(requests.get(f"{self.url}/_emulator/dns", timeout=5).json()[dns_name.lower()])

    def listener_address(self, listener_arn: str) -> tuple[str, int]:
        """Where a listener actually accepts traffic (``GET /_emulator/listeners``): its load balancer's address
        and port, or the port it was remapped to when that one could not be bound (README "Where load
        balancers listen")."""
        for entry in requests.get(f"{self.url}/_emulator/listeners", timeout=5).json():
            if entry["ListenerArn"] == listener_arn and entry["Address"]:
                host, _, port = entry["Address"].rpartition(":")
                return host.strip("[]"), int(port)
        raise LookupError(f"listener {listener_arn} is not listening")

    def reset(self) -> None:
        """Forget every resource, in the emulator and in the AWS services it serves (``POST /moto-api/reset``)."""
        requests.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"{self.url}/_emulator/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"no elbv2-emulator answers at {self.url}")
            time.sleep(0.05)  # (polling an endpoint that is starting: nothing to wait on but its answer)
