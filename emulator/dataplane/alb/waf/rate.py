"""Rate-based rule counters ("Rate-based rule statement" in the AWS WAF developer guide): requests per
aggregation key in a sliding window of EvaluationWindowSec (60, 120, 300 or 600 s; 300 by default).

AWS's window runs on the emulator's clock: ``window_scale`` is ``Timing.scale`` (0.01 with ``--timing fast``, so a
60 s window lasts 0.6 s; 1 with ``--timing aws``). A key is rate limited while more than Limit of its requests fall
in the window; every request the rule inspects (its scope-down statement matched) counts, blocked ones too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable

_MAX_KEYS = 100_000  # beyond this many keys, empty ones are dropped at once


class RateCounter:
    __slots__ = ("limit", "window", "hits")

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.hits: dict[Hashable, deque[float]] = {}

    def over(self, key: Hashable, now: float) -> bool:
        """Count one request of ``key`` at ``now``; whether the key is now over the limit."""
        times = self.hits.get(key)
        if times is None:
            if len(self.hits) >= _MAX_KEYS:
                self._prune(now)
            times = self.hits[key] = deque()
        times.append(now)
        edge = now - self.window
        while times[0] <= edge:
            times.popleft()
        return len(times) > self.limit

    def _prune(self, now: float) -> None:
        edge = now - self.window
        for key in [key for key, times in self.hits.items() if not times or times[-1] <= edge]:
            del self.hits[key]
