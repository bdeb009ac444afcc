"""The warm workers of one function revision: reused between invocations, one invocation at a time each,
more started on demand up to ``MAX_WORKERS`` (then invocations wait for a free one)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path

from emulator.lambdas.functions import FunctionSpec
from emulator.lambdas.worker import Worker

log = logging.getLogger("elbv2_emulator.lambda")
MAX_WORKERS = 4  # per function revision: enough concurrency locally without swamping a laptop


class WorkerPool:
    def __init__(self, spec: FunctionSpec, task_root: Path, extra_env: Mapping[str, str]) -> None:
        self.spec = spec
        self.task_root = task_root
        self.extra_env = extra_env
        self.idle: deque[tuple[Worker, float]] = deque()  # with when each was last used (time.monotonic())
        self.count = 0  # workers alive or starting (idle ones included)
        self.waiters: deque[asyncio.Future[Worker | None]] = deque()
        self.closed = False

    async def acquire(self) -> Worker:
        """A warm worker (the most recently used: its caches are hottest), a new one, or the next one freed."""
        while self.idle:
            worker = self.idle.pop()[0]
            if worker.alive:
                return worker
            self.count -= 1
        if self.count < MAX_WORKERS:
            self.count += 1
            try:
                return await Worker.start(self.spec, self.task_root, self.extra_env)
            except BaseException:
                self.count -= 1
                self._wake()
                raise
        waiter: asyncio.Future[Worker | None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        handed = await waiter
        return handed if handed is not None else await self.acquire()

    def release(self, worker: Worker) -> None:
        """The invocation is over: the worker takes the next one, or waits warm."""
        if self.closed or not worker.alive:
            self.discard(worker)
            return
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self.idle.append((worker, time.monotonic()))

    def reap(self, idle_for: float) -> None:
        """Stop the workers unused for ``idle_for`` seconds (Lambda, too, retires idle environments)."""
        cutoff = time.monotonic() - idle_for
        while self.idle and self.idle[0][1] < cutoff:  # (the oldest first: release appends)
            self.discard(self.idle.popleft()[0])

    def discard(self, worker: Worker) -> None:
        """A worker that timed out or died: killed, and its place freed for a new one."""
        worker.kill()
        self.count -= 1
        self._wake()

    def _wake(self) -> None:
        while self.waiters:  # a waiter retries acquire (and may start a worker in the freed place)
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        """The function changed or the emulator stops: no worker of this revision serves again."""
        self.closed = True
        while self.idle:
            self.idle.pop()[0].kill()
        self._wake()
