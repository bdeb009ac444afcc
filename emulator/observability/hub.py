"""The ``Observer`` the data plane reports to: records are queued on its event loop and handed to the
consumers on the hub's own thread, so nothing a consumer does (formatting, gzip, moto calls) runs on the
data plane's loop.

The hub hands consumers a ``Batch`` (everything queued since the last drain, one list per record kind, and the
listeners' running totals, ALB ``ListenerCounters`` and NLB ``FlowCounters``), so a consumer's per-record work
is a tight loop over one kind. It drains every ``DRAIN_SECONDS``, and sooner when ``WAKE_AT`` requests or flows
are queued: records then die young. That matters for the data plane's speed more than anything a consumer does.
CPython's cyclic garbage collector starts a collection once 700 more container objects are alive than at the
last one; the data plane's hot path otherwise leaves none alive, so queued records would be what makes it
collect, promote them and, every few seconds, walk the whole heap.

``flush`` hands over everything queued so far and then asks each consumer to deliver what it buffers
(shutdown, and tests that read S3 or CloudWatch at once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol, TypeVar

from api_models.observations import (
    ConnectionRecord,
    FlowCounters,
    FlowRecord,
    HealthCheckRecord,
    ListenerCounters,
    RequestRecord,
)

log = logging.getLogger("elbv2_emulator.observability")

DRAIN_SECONDS = 0.05  # how often the hub hands queued records to the consumers (and harvests the counters)
WAKE_AT = 256  # queued requests (or flows) that wake the hub before DRAIN_SECONDS: well under the GC's 700
# ALB records per listener and second handed over although nothing needs each one: the dashboard's sample,
# enough to refill its ring of recent requests (``recent.RECENT_LIMIT``) every second.
SAMPLE_RATE = 200

R = TypeVar("R")


@dataclass(slots=True)
class Batch:
    """The records of one drain, oldest first within each kind."""

    requests: list[RequestRecord]
    flows: list[FlowRecord]
    connections: list[ConnectionRecord]
    health_checks: list[HealthCheckRecord]
    counters: list[ListenerCounters]  # every ALB listener's totals so far (they only grow)
    flow_counters: list[FlowCounters]  # every NLB listener's flow totals so far (likewise)


class Consumer(Protocol):
    """What the hub feeds; ``take`` and ``tick`` run on the hub's thread, one call at a time."""

    def take(self, batch: Batch) -> None: ...  # the records of one drain (a consumer reads the kinds it wants)
    def tick(self, now: float) -> None: ...  # called after every drain: deliver what is due
    def flush(self) -> None: ...  # deliver everything buffered now (shutdown, ``ObservationHub.flush``)


class ObservationHub:
    """An ``api_models.observations.Observer``: the data plane's side appends to a deque per kind (thread-safe
    and O(1), no lock on the loop); the hub's thread drains them."""

    def __init__(self) -> None:
        self.consumers: list[Consumer] = []
        self.every_request = False  # set by ``subscribe(..., every_request=True)``, before traffic starts
        self._counters: dict[str, ListenerCounters] = {}  # by listener ARN
        self._flow_counters: dict[str, FlowCounters] = {}  # by listener ARN
        self._requests: deque[RequestRecord] = deque()
        self._flows: deque[FlowRecord] = deque()
        self._connections: deque[ConnectionRecord] = deque()
        self._health_checks: deque[HealthCheckRecord] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._lock = threading.Lock()  # one drain at a time (the hub's thread, or ``flush`` from another)
        self._thread: threading.Thread | None = None

    # -- the Observer protocol (the data plane's loop) --------------------------------------------------------

    def counters(self, load_balancer_arn: str, listener_arn: str) -> ListenerCounters:
        found = self._counters.get(listener_arn)
        if found is None:
            found = self._counters[listener_arn] = ListenerCounters(load_balancer_arn, listener_arn,
                                                                    sample_budget=SAMPLE_RATE)
        return found

    def flow_counters(self, load_balancer_arn: str, listener_arn: str) -> FlowCounters:
        found = self._flow_counters.get(listener_arn)
        if found is None:
            found = self._flow_counters[listener_arn] = FlowCounters(load_balancer_arn, listener_arn)
        return found

    def request(self, record: RequestRecord) -> None:
        queue = self._requests
        queue.append(record)
        if len(queue) == WAKE_AT:
            self._wake.set()

    def flow(self, record: FlowRecord) -> None:
        queue = self._flows
        queue.append(record)
        if len(queue) == WAKE_AT:
            self._wake.set()

    def connection(self, record: ConnectionRecord) -> None:
        self._connections.append(record)

    def health_check(self, record: HealthCheckRecord) -> None:
        self._health_checks.append(record)

    # -- the hub's side ---------------------------------------------------------------------------------------

    def subscribe(self, consumer: Consumer, every_request: bool = False) -> None:
        """``every_request``: the consumer needs every ALB request's record (not only those of load balancers
        with access logs on); subscribe it before listeners start."""
        self.consumers.append(consumer)
        self.every_request = self.every_request or every_request

    def unsubscribe(self, consumer: Consumer) -> None:
        """Stop feeding ``consumer`` (a test's collector, once the test is over)."""
        with self._lock:  # (not in the middle of a drain)
            self.consumers = [c for c in self.consumers if c is not consumer]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="observability", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, after delivering everything (AWS writes access logs at shutdown too)."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        self.flush()

    def flush(self) -> None:
        with self._lock:
            self._drain()
            for consumer in self.consumers:
                try:
                    consumer.flush()
                except Exception:
                    log.exception("observability consumer %r failed to flush", consumer)

    def _run(self) -> None:
        refilled = time.monotonic()
        while not self._stopping:
            self._wake.wait(DRAIN_SECONDS)
            self._wake.clear()
            if time.monotonic() - refilled >= 1.0:
                refilled = time.monotonic()
                for counters in list(self._counters.values()):
                    counters.sample_budget = SAMPLE_RATE  # (a take racing with this loses at most one)
            with self._lock:
                self._drain()
                now = time.time()
                for consumer in self.consumers:
                    try:
                        consumer.tick(now)
                    except Exception:
                        log.exception("observability consumer %r failed", consumer)

    def _drain(self) -> None:
        batch = Batch(_taken(self._requests), _taken(self._flows), _taken(self._connections),
                      _taken(self._health_checks), list(self._counters.values()),
                      list(self._flow_counters.values()))
        for consumer in self.consumers:
            try:
                consumer.take(batch)
            except Exception:
                log.exception("observability consumer %r failed on a batch", consumer)


def _taken(queue: deque[R]) -> list[R]:
    """What ``queue`` holds now, removed from it (the loop may append meanwhile: those wait for the next drain)."""
    popleft = queue.popleft
    return [popleft() for _ in range(len(queue))]
