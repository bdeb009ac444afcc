"""The dashboard's feed: the last few hundred ALB requests and NLB flows handed over, and each listener's rate.

A hub ``Consumer``: ``take`` runs on the hub's thread, the reads (``requests``, ``flows``, ``rates``) on the
API's threads, so one lock guards the buffers; reads copy out what they return. Rates are counted per
listener in one-second buckets, by when the hub saw the request end (an ALB listener's totals grow) or received
the flow, and averaged over the last ``RATE_WINDOW_SECONDS``: CloudWatch's ``RequestCount`` per second, live.
Under load the requests shown are a sample (``hub.SAMPLE_RATE``); the rates
count every one.
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
    """One listener's traffic: requests (ALB) or flows (NLB) per second over the window, and since start."""

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
        self._seen: dict[str, int] = {}  # ALB listener ARN -> its requests counted so far (the hub's thread)
        self._clock = clock

    # -- the hub's thread --------------------------------------------------------------------------------

    def take(self, batch: Batch) -> None:
        """ALB rates come from the listeners' totals (only some requests are handed over as records), NLB rates
        from the flows. Connections and health checks are not kept: the dashboard reads target health from the
        health board."""
        second = int(self._clock())
        grown: dict[str, int] = {}
        for listener in batch.counters:
            total = sum(group.requests for group in list(listener.groups.values()))
            if total != self._seen.get(listener.listener_arn, 0):
                grown[listener.listener_arn] = total - self._seen.get(listener.listener_arn, 0)
                self._seen[listener.listener_arn] = total
        for flow in batch.flows:
            grown[flow.listener_arn] = grown.get(flow.listener_arn, 0) + 1
        with self._lock:
            self._requests.extend(batch.requests)
            self._flows.extend(batch.flows)
            for arn, records in grown.items():
                counter = self._counters.get(arn)
                if counter is None:
                    counter = self._counters[arn] = _Counter()
                counter.count(second, records)

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
