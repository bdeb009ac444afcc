"""The Python the package declares is the Python its code needs (issue 15, "Python versions").

``requires-python`` says 3.11: ``asyncio.timeout`` (health probes) is 3.11's, the Docker image and CI run
3.11, and 3.10 reached its end of life in October 2026. vermin (a maintained static checker of the minimum
version each construct and library member needs) keeps the code and the declaration in step.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _vermin(target: str) -> subprocess.CompletedProcess[str]:
    vermin = Path(sys.executable).parent / "vermin"  # the console script installed with the test extra
    return subprocess.run([str(vermin), "--no-tips", "--violations", f"-t={target}", "emulator", "api_models"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_requires_python_is_what_the_code_needs():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert declared == ">=3.11"
    assert _vermin("3.11-").returncode == 0  # nothing needs a newer Python than declared
    older = _vermin("3.10-")  # and the declaration is not looser than the code: 3.10 would fail
    assert older.returncode != 0 and "asyncio.timeout" in older.stdout
