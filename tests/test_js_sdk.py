"""A second SDK as a client: the AWS SDK for JavaScript v3 runs a create/describe/delete flow (tests/js)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).parent / "js"


def test_js_sdk_flow(emulator_url: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the JS SDK flow needs Node.js 18+)")
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-elastic-load-balancing-v2").is_dir():
        pytest.skip("tests/js/node_modules is missing: run `npm ci` in tests/js (.ci/run does)")
    env = {**os.environ, "ELBV2_ENDPOINT_URL": emulator_url, "AWS_REGION": "us-east-1"}
    done = subprocess.run([node, "elbv2_flow.mjs"], cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=120)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "js sdk flow: all good" in done.stdout
