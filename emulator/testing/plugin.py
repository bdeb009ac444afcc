"""The pytest plugin: an ELBv2 emulator with real traffic as a test fixture (the ``pytest11`` entry point).

Nothing happens unless a test asks for a fixture: importing this module imports no emulator code.

- ``elbv2_emulator`` (session): an ``Elbv2Emulator`` — by default an emulator started in this process on a
  free port before the first test that uses it; with ``--elbv2-emulator-endpoint URL`` (or the ini option) an
  already running one, e.g. the container a CI job started. While the session runs, ``AWS_ENDPOINT_URL``,
  dummy credentials and ``AWS_DEFAULT_REGION`` are set, so code under test that builds its own boto3 clients
  reaches the emulator, and load-balancer DNS names resolve in this process (``emulator.testing.elb_dns``);
  both are restored afterwards.
- ``elbv2_emulator_reset`` (function): the same, after forgetting every resource, for tests that must not see
  each other's load balancers.

Options (command line, or the same name with underscores in ``[tool.pytest.ini_options]`` / pytest.ini):
``--elbv2-emulator-endpoint``, ``--elbv2-emulator-timing fast|aws``, ``--elbv2-emulator-state-dir DIR``,
``--elbv2-emulator-security-groups enforce|off``, ``--elbv2-emulator-region``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.testing.dns import elb_dns
from emulator.testing.handle import DUMMY_CREDENTIALS, Elbv2Emulator

_OPTIONS = {  # name -> (help, default)
    "endpoint": ("use this running emulator instead of starting one in process", ""),
    "timing": ("the in-process emulator's clock: fast (the default) or aws", "fast"),
    "state-dir": ("persist the in-process emulator's state here (SQLite)", ""),
    "security-groups": ("enforce load balancers' security groups (the default, as AWS) or off", "enforce"),
    "region": ("the region of the clients the fixture makes and of AWS_DEFAULT_REGION", "us-east-1"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("elbv2-emulator", "ELBv2 emulator fixture (elbv2_emulator)")
    for name, (help_text, default) in _OPTIONS.items():
        group.addoption(f"--elbv2-emulator-{name}", dest=_ini(name), default=None, help=help_text)
        parser.addini(_ini(name), help_text, default=default)


def _ini(name: str) -> str:
    return "elbv2_emulator_" + name.replace("-", "_")


def _option(config: pytest.Config, name: str) -> str:
    value = config.getoption(_ini(name))
    return str(value if value is not None else config.getini(_ini(name)))


@pytest.fixture(scope="session")
def elbv2_emulator(request: pytest.FixtureRequest) -> Iterator[Elbv2Emulator]:
    config = request.config
    region, endpoint = _option(config, "region"), _option(config, "endpoint")
    began = time.monotonic()
    server = None
    if endpoint:
        handle = Elbv2Emulator(endpoint, region)
        handle.wait_ready(30)
    else:
        from emulator.server import EmulatorServer  # (here, not at import: the plugin costs nothing unused)
        from emulator.timing import Timing

        state_dir = _option(config, "state-dir")
        server = EmulatorServer(port=0, state_dir=Path(state_dir) if state_dir else None,
                                timing=Timing.named(_option(config, "timing")),
                                enforce_security_groups=_option(config, "security-groups") != "off").start()
        handle = Elbv2Emulator(server.url, region, server)
        handle.wait_ready(30)
    handle.started_in = time.monotonic() - began
    with pytest.MonkeyPatch.context() as patch, elb_dns(handle.url):
        patch.setenv("AWS_ENDPOINT_URL", handle.url)
        patch.setenv("AWS_ACCESS_KEY_ID", DUMMY_CREDENTIALS["aws_access_key_id"])
        patch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_CREDENTIALS["aws_secret_access_key"])
        patch.setenv("AWS_DEFAULT_REGION", region)
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)  # a profile's credentials would be used instead of the dummies
        try:
            yield handle
        finally:
            if server is not None:
                server.stop()


@pytest.fixture
def elbv2_emulator_reset(elbv2_emulator: Elbv2Emulator) -> Elbv2Emulator:
    elbv2_emulator.reset()
    return elbv2_emulator
