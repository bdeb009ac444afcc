"""An emulator in a subprocess, for tests that need what an in-process server cannot give: kill -9, a lowered
descriptor limit, options read from the environment at start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

from tests.alb_support import free_port, wait_for


def api_ready(url: str) -> bool:
    """Whether the API answers health; a server still restoring its state (``--state-dir``) may have accepted
    the connection without answering yet: not ready either."""
    try:
        return requests.get(f"{url}/_emulator/health", timeout=1).ok
    except (requests.ConnectionError, requests.Timeout):
        return False


@contextmanager
def emulator_process(*options: str, port: int | None = None, env: dict[str, str] | None = None,
                     preexec_fn: Callable[[], None] | None = None,
                     stdout: int = subprocess.DEVNULL) -> Iterator[tuple[str, subprocess.Popen]]:
    """(API URL, process) of ``elbv2-emulator serve`` with ``options``, ready; killed with SIGKILL afterwards
    (durability must never depend on a clean shutdown). ``stdout=subprocess.PIPE``: read what it prints (text)."""
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", "--port", str(port), *options],
                               env=env, preexec_fn=preexec_fn, stdout=stdout, stderr=subprocess.DEVNULL, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: api_ready(url) or process.poll() is not None, timeout=30)
        assert process.poll() is None, "the emulator exited at start"
        yield url, process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
