"""The dashboard's feed: the last few hundred ALB requests and NLB flows handed over, and each listener's rate.

A hub ``Consumer``: ``take`` runs on the hub's thread, the reads (``requests``, ``flows``, ``rates``) on the
API's threads, so one lock guards the buffers; reads copy out what they return. Rates are counted per
listener in one-second buckets, from the growth of the listeners' running totals: an ALB listener's requests
(by when the hub saw them end: CloudWatch's ``RequestCount``), an NLB listener's opened flows (by when the hub
saw them start: ``NewFlowCount``, so a long-lived flow counts at once, not when it ends), averaged over the
last ``RATE_WINDOW_SECONDS``. Under load the requests shown are a sample (``hub.SAMPLE_RATE``), and a flow is
listed only once it ends (its ``FlowRecord``); the rates count every one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from api_models.observations import FlowRecord, RequestRecord
from emulator.observability.hub import Batch

RECENT_LIMIT = 200  # records kept per kind
RATE_WINDOW_SECONDS = 5


@dataclass(frozen=True, slots=True)
class ListenerRate:
    """One listener's traffic: requests (ALB) or opened flows (NLB) per second over the window, and since start."""

    listener_arn: str
    per_second: float
    total: int


class _Counter:
    """A listener's records in one-second buckets: ``buckets[i]`` counts the records of second ``i``."""

    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.total = 0

    def count(self, second: int, records: int) -> None:
        self.buckets[second] = self.buckets.get(second, 0) + records
        self.total += records

    def forget_before(self, second: int) -> None:
        for old in [s for s in self.buckets if s < second]:
            del self.buckets[old]

    def per_second(self, now: float) -> float:
        """The records of the window's seconds (the current one included, as far as it has gone) per second."""
        first = int(now) - RATE_WINDOW_SECONDS + 1
        counted = sum(n for second, n in self.buckets.items() if second >= first)
        return counted / max(now - first, 1.0)


class RecentTraffic:
    """A ``hub.Consumer`` keeping what the dashboard shows of the traffic; thread-safe reads."""

    def __init__(self, limit: int = RECENT_LIMIT, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._requests: deque[RequestRecord] = deque(maxlen=limit)
        self._flows: deque[FlowRecord] = deque(maxlen=limit)
        self._counters: dict[str, _Counter] = {}
        # Listener ARN -> its requests (ALB) or opened flows (NLB) counted so far (the hub's thread).
        self._seen: dict[str, int] = {}
        self._clock = clock

    # -- the hub's thread --------------------------------------------------------------------------------

    def take(self, batch: Batch) -> None:
        """Rates come from the listeners' totals: only some requests are handed over as records, and a flow's
        record only when it ends. Connections and health checks are not kept: the dashboard reads target health
        from the health board."""
        second = int(self._clock())
        grown: dict[str, int] = {}
        for listener in batch.counters:
            self._grow(grown, listener.listener_arn, sum(group.requests for group in list(listener.groups.values())))
        for flow_listener in batch.flow_counters:
            # (``opened`` has all its keys from the start: the loop only changes values while this sums them)
            self._grow(grown, flow_listener.listener_arn, sum(flow_listener.opened.values()))
        with self._lock:
            self._requests.extend(batch.requests)
            self._flows.extend(batch.flows)
            for arn, records in grown.items():
                counter = self._counters.get(arn)
                if counter is None:
                    counter = self._counters[arn] = _Counter()
                counter.count(second, records)

    def _grow(self, grown: dict[str, int], listener_arn: str, total: int) -> None:
        """Notes in ``grown`` what the listener's total grew by since the last drain."""
        seen = self._seen.get(listener_arn, 0)
        if total != seen:
            grown[listener_arn] = total - seen
            self._seen[listener_arn] = total

    def tick(self, now: float) -> None:
        with self._lock:
            for counter in self._counters.values():
                counter.forget_before(int(now) - RATE_WINDOW_SECONDS)

    def flush(self) -> None:
        """Nothing is buffered for delivery: the records are only ever read."""

    # -- the API's threads -------------------------------------------------------------------------------

    def requests(self) -> list[RequestRecord]:
        """The recent ALB requests, newest first (reported records are never changed again)."""
        with self._lock:
            return list(reversed(self._requests))

    def flows(self) -> list[FlowRecord]:
        """The recent NLB flows, newest first."""
        with self._lock:
            return list(reversed(self._flows))

    def rates(self) -> dict[str, ListenerRate]:
        """Every listener that carried traffic since start: its rate now, and its total."""
        now = self._clock()
        with self._lock:
            return {arn: ListenerRate(arn, counter.per_second(now), counter.total)
                    for arn, counter in self._counters.items()}
