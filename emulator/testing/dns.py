"""Helpers for Python test suites that use the emulator (importable by users' tests too).

``elb_dns(endpoint_url)`` makes load-balancer DNS names resolve in this process, so code under test
can use the DNSName that DescribeLoadBalancers returns, exactly as it would on AWS::

    with elb_dns("http://127.0.0.1:4566"):
        requests.get(f"http://{lb['DNSName']}/health")
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

_ELB_SUFFIX = ".amazonaws.com"


@contextmanager
def elb_dns(endpoint_url: str) -> Iterator[None]:
    """Patch ``socket.getaddrinfo`` and ``socket.gethostbyname`` so ``*.elb.amazonaws.com`` names resolve
    through the emulator (``GET /_emulator/dns``); other names resolve as before."""
    original_getaddrinfo, original_gethostbyname = socket.getaddrinfo, socket.gethostbyname

    def resolve(host: Any) -> Any:
        if isinstance(host, str) and host.lower().endswith(_ELB_SUFFIX) and ".elb." in host.lower():
            table = requests.get(f"{endpoint_url}/_emulator/dns", timeout=5).json()
            return table.get(host.lower(), host)
        return host

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return original_getaddrinfo(resolve(host), *args, **kwargs)

    def gethostbyname(host: str) -> str:
        return original_gethostbyname(resolve(host))

    socket.getaddrinfo, socket.gethostbyname = getaddrinfo, gethostbyname
    try:
        yield
    finally:
        socket.getaddrinfo, socket.gethostbyname = original_getaddrinfo, original_gethostbyname
