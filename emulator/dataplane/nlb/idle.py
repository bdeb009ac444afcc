"""Idle timeouts without a timer per flow: a periodic sweep counts ticks since each flow's last byte.

Data paths only set a flag or zero a counter (one attribute store per chunk); every ``timeout / TICKS``
seconds the sweep asks each flow to ``tick`` and expires flows that stayed silent for more than ``TICKS``
sweeps, so a flow is closed after between 1 and 1.25 times the timeout of silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Protocol

TICKS = 4


class IdleFlow(Protocol):
    def tick(self) -> bool:
        """Count one sweep; True when the flow has been idle too long."""
        ...

    def reset(self) -> None: ...


class IdleSweeper:
    def __init__(self, flows: Collection[IdleFlow], timeout: Callable[[], float]) -> None:
        self._flows = flows  # a live view of the listener's flows
        self._timeout = timeout  # read at every sweep
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._schedule()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        self._handle = asyncio.get_running_loop().call_later(self._timeout() / TICKS, self._sweep)

    def _sweep(self) -> None:
        expired = [flow for flow in self._flows if flow.tick()]
        for flow in expired:
            flow.reset()  # AWS: after the idle timeout the flow is gone; TCP peers get RST
        self._schedule()
