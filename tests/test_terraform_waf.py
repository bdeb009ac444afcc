"""Terraform's AWS provider against the emulator: an IP set, a web ACL with an IP-set rule and a rate-based
rule, and its association with an ALB (aws_wafv2_ip_set, aws_wafv2_web_acl, aws_wafv2_web_acl_association);
then real traffic proves the web ACL decides it, and destroy removes it. Skipped like tests/test_terraform.py
where there is no terraform or provider mirror.
"""

from __future__ import annotations

import http.client
import json
import shutil
from pathlib import Path

import requests

from tests.backends import HttpEcho
from tests.test_terraform import CLI_CONFIG, _terraform, pytestmark  # noqa: F401  (the same skips)

HERE = Path(__file__).parent / "terraform" / "waf"


def _status(address: str, source: str) -> int:
    host, _, port = address.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5, source_address=(source, 0))
    try:
        connection.request("GET", "/")
        return connection.getresponse().status
    finally:
        connection.close()


def test_terraform_web_acl_with_ip_set_and_rate_rules_blocks_alb_traffic(emulator_url: str, tmp_path: Path) -> None:
    shutil.copy(HERE / "main.tf", tmp_path / "main.tf")
    (tmp_path / "cli.tfrc").write_text(CLI_CONFIG)
    with HttpEcho("app") as backend:
        variables = ["-var", f"endpoint={emulator_url}", "-var", f"backend_port={backend.port}"]
        _terraform(tmp_path, "init", "-input=false")
        _terraform(tmp_path, "apply", "-auto-approve", "-input=false", *variables)
        outputs = json.loads(_terraform(tmp_path, "output", "-json").stdout)
        listeners = requests.get(f"{emulator_url}/_emulator/listeners", timeout=5).json()
        address = next(e["Address"] for e in listeners if e["LoadBalancerArn"] == outputs["web_arn"]["value"])
        assert _status(address, "127.0.0.2") == 403  # the IP set rule
        # The rate rule: 10 requests per 600 s (6 s on the suite's fast clock) from one source, then blocked.
        assert [_status(address, "127.0.0.3") for _ in range(12)] == [200] * 10 + [403, 403]
        assert _status(address, "127.0.0.4") == 200
        _terraform(tmp_path, "destroy", "-auto-approve", "-input=false", *variables)
    remaining = [e for e in requests.get(f"{emulator_url}/_emulator/listeners", timeout=5).json()
                 if e["LoadBalancerArn"] == outputs["web_arn"]["value"]]
    assert remaining == []
