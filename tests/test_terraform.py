"""Terraform's AWS provider against the emulator: apply, no drift on re-plan, real traffic, destroy.

This is the fidelity test that matters most to infrastructure code: the provider reads back every
attribute it wrote (DescribeLoadBalancerAttributes, DescribeTargetGroupAttributes, DescribeTags,
DescribeCapacityReservation, ...) and any difference from what AWS would answer shows up as a planned
change. The provider comes from the machine's filesystem mirror; the test is skipped where there is none.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.backends import HttpEcho

HERE = Path(__file__).parent / "terraform"
PROVIDER_MIRROR = Path(os.environ.get("ELBV2_EMULATOR_TF_MIRROR", "/opt/tf-plugins"))

pytestmark = [
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed"),
    pytest.mark.skipif(
        not (PROVIDER_MIRROR / "registry.terraform.io/hashicorp/aws").is_dir(),
        reason=f"no hashicorp/aws provider mirror at {PROVIDER_MIRROR}",
    ),
    pytest.mark.timeout(420),  # aws_lb's own create waiter sleeps 30 s before its first poll, twice
]

CLI_CONFIG = f"""
provider_installation {{
  filesystem_mirror {{
    path    = "{PROVIDER_MIRROR}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }}
  direct {{ exclude = ["registry.terraform.io/hashicorp/aws"] }}
}}
"""


def _terraform(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(workdir / "cli.tfrc"), "TF_IN_AUTOMATION": "1"}
    result = subprocess.run(
        ["terraform", *args, "-no-color"], cwd=workdir, env=env, capture_output=True, text=True, timeout=400
    )
    if check and result.returncode != 0:
        raise AssertionError(f"terraform {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result


def test_apply_replan_without_drift_serve_traffic_and_destroy(emulator_url: str, elbv2, tmp_path: Path) -> None:
    shutil.copy(HERE / "main.tf", tmp_path / "main.tf")
    (tmp_path / "cli.tfrc").write_text(CLI_CONFIG)
    with HttpEcho("app") as backend:
        variables = ["-var", f"endpoint={emulator_url}", "-var", f"backend_port={backend.port}"]
        _terraform(tmp_path, "init", "-input=false")
        _terraform(tmp_path, "apply", "-auto-approve", "-input=false", *variables)

        plan = _terraform(tmp_path, "plan", "-detailed-exitcode", "-input=false", *variables, check=False)
        assert plan.returncode == 0, f"re-plan after apply shows drift:\n{plan.stdout}\n{plan.stderr}"

        outputs = json.loads(_terraform(tmp_path, "output", "-json").stdout)
        listeners = requests.get(f"{emulator_url}/_emulator/listeners", timeout=5).json()
        address = next(e["Address"] for e in listeners if e["LoadBalancerArn"] == outputs["web_arn"]["value"])
        routed = requests.get(f"http://{address}/api/orders", timeout=5)
        assert routed.status_code == 200 and routed.json()["backend"] == "app"  # the path rule forwards
        fallback = requests.get(f"http://{address}/", timeout=5)
        assert (fallback.status_code, fallback.text) == (404, "no route")  # the fixed-response default

        _terraform(tmp_path, "destroy", "-auto-approve", "-input=false", *variables)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
