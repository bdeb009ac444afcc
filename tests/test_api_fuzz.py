"""Short runs of the API fuzzers (scripts/fuzz_api.py, scripts/fuzz_http.py): each exits non-zero on a finding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.mark.parametrize(("script", "cases"), [("fuzz_api.py", 300), ("fuzz_http.py", 200)])
def test_a_short_fuzz_run_finds_nothing(script, cases):
    run = subprocess.run([sys.executable, str(SCRIPTS / script), "--cases", str(cases), "--seed", "7"],
                         capture_output=True, text=True, timeout=110)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert f"{cases} cases" in run.stdout and "findings: 0" in run.stdout
