"""What the health checker last saw for each registered target.

The data plane's health checker writes here; DescribeTargetHealth and target choice read here. It is
runtime state, not persisted: after a restart every target starts over with its initial checks, as a
freshly registered target does on AWS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

TargetKey = tuple[str, str, int | None]  # (target group ARN, target Id, port)


@dataclass(frozen=True, slots=True)
class HealthStatus:
    state: str  # initial | healthy | unhealthy | unhealthy.draining | unused | draining | unavailable
    reason: str | None = None
    description: str | None = None


class TargetHealthBoard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: dict[TargetKey, HealthStatus] = {}

    def get(self, key: TargetKey) -> HealthStatus | None:
        return self._status.get(key)

    def set(self, key: TargetKey, status: HealthStatus) -> None:
        with self._lock:
            self._status[key] = status

    def forget(self, key: TargetKey) -> None:
        with self._lock:
            self._status.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._status.clear()
