"""One warm worker process: a function's handler loaded in a subprocess (``python_bootstrap.py`` or
``node_bootstrap.js``), spoken to over asyncio pipes in length-prefixed frames, one invocation at a time
(Lambda's concurrency model: an execution environment serves one request at a time)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import struct
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from emulator.lambdas.functions import FunctionSpec

_LENGTH = struct.Struct(">I")
_HERE = Path(__file__).parent
INIT_LIMIT = 10.0  # seconds: Lambda's limit for the Init phase (importing the handler)
MAX_RESPONSE = 6 * 1024 * 1024  # Lambda's synchronous response payload limit


class Unsupported(Exception):
    """The function's runtime cannot run here (the message says why)."""


class WorkerGone(Exception):
    """The worker exited, or broke the framing, before answering."""


def command(spec: FunctionSpec, task_root: Path) -> list[str]:
    """How a worker of ``spec``'s runtime starts. Python functions run on the emulator's own interpreter
    (whatever python3.x they declare); Node.js ones on the ``node`` found on PATH."""
    if spec.package_type != "Zip":
        raise Unsupported(f"{spec.name}: container image functions are not run locally")
    if spec.runtime.startswith("python3"):
        return [sys.executable, "-u", str(_HERE / "python_bootstrap.py"), str(task_root), spec.handler]
    if spec.runtime.startswith("nodejs"):
        node = shutil.which("node")
        if node is None:
            raise Unsupported(f"{spec.name}: runtime {spec.runtime} needs node, which is not installed")
        return [node, str(_HERE / "node_bootstrap.js"), str(task_root), spec.handler]
    raise Unsupported(f"{spec.name}: runtime {spec.runtime or '(none)'} is not run locally "
                      "(python3.x and nodejs* are)")


def environment(spec: FunctionSpec, task_root: Path, extra_env: Mapping[str, str]) -> dict[str, str]:
    """The environment Lambda defines for a function ("Defined runtime environment variables"), the
    runtime's ``extra_env`` (the emulator's endpoint and credentials), then the function's own variables
    (which may not override the reserved ones on AWS; here they simply win)."""
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "SYSTEMROOT", "TMPDIR")}
    env.update({
        "LAMBDA_TASK_ROOT": str(task_root), "LAMBDA_RUNTIME_DIR": str(_HERE), "_HANDLER": spec.handler,
        "AWS_REGION": spec.region, "AWS_DEFAULT_REGION": spec.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name, "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]local", time.gmtime()),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "TZ": ":UTC", "LANG": "en_US.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.update(extra_env)
    env.update(spec.environment)
    return env


class Worker:
    __slots__ = ("process", "init_error")

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.init_error: bytes | None = None  # the handler could not be loaded: every invocation answers this

    @classmethod
    async def start(cls, spec: FunctionSpec, task_root: Path, extra_env: Mapping[str, str]) -> Worker:
        """A worker with the handler loaded (Lambda's Init phase, at most ``INIT_LIMIT``)."""
        process = await asyncio.create_subprocess_exec(
            *command(spec, task_root), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env=environment(spec, task_root, extra_env), cwd=str(task_root),
        )
        worker = cls(process)
        try:
            kind, body = await asyncio.wait_for(worker._receive(), INIT_LIMIT)
        except BaseException:
            worker.kill()
            raise
        if kind == b"X":
            worker.init_error = body
        return worker

    async def call(self, request_id: str, invoked_arn: str, payload: bytes, timeout: float) -> tuple[bytes, bytes]:
        """Send one event and wait for its answer: (b"R", result JSON) or (b"E", error document). Raises
        TimeoutError past ``timeout`` (the caller kills the worker) and WorkerGone."""
        deadline = int((time.time() + timeout) * 1000)
        header = json.dumps({"id": request_id, "deadline": deadline, "arn": invoked_arn}).encode()
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(_LENGTH.pack(len(header) + 1 + len(payload)) + header + b"\n" + payload)
        return await asyncio.wait_for(self._receive(), timeout)

    async def _receive(self) -> tuple[bytes, bytes]:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            size = _LENGTH.unpack(await stdout.readexactly(4))[0]
            if not 1 <= size <= MAX_RESPONSE + 1024:
                raise WorkerGone(f"a frame of {size} bytes")
            frame = await stdout.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            raise WorkerGone(f"the worker exited ({self.process.returncode})") from error
        return frame[:1], frame[1:]

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def kill(self) -> None:
        if self.process.returncode is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
