"""The ``Observer`` the data plane reports to: records are queued on its event loop and handed to the
consumers on the hub's own thread, so nothing a consumer does (formatting, gzip, moto calls) runs on the
data plane's loop.

A consumer subscribes to the record kinds it wants (``Consumer``); ``flush`` hands over everything queued
so far and then asks each consumer to deliver what it buffers (shutdown, and tests that read S3 or
CloudWatch at once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Protocol

from api_models.observations import ConnectionRecord, FlowRecord, HealthCheckRecord, RequestRecord

log = logging.getLogger("elbv2_emulator.observability")

Record = RequestRecord | FlowRecord | ConnectionRecord | HealthCheckRecord
DRAIN_SECONDS = 0.05  # how often the hub hands queued records to the consumers


class Consumer(Protocol):
    """What the hub feeds; ``take`` and ``tick`` run on the hub's thread, one call at a time."""

    def take(self, record: Record) -> None: ...  # one record (the consumer ignores kinds it does not want)
    def tick(self, now: float) -> None: ...  # called after every drain: deliver what is due
    def flush(self) -> None: ...  # deliver everything buffered now (shutdown, ``ObservationHub.flush``)


class ObservationHub:
    """An ``api_models.observations.Observer``: the data plane's side appends to a deque (thread-safe and
    O(1), no lock on the loop); the hub's thread drains it."""

    def __init__(self) -> None:
        self.consumers: list[Consumer] = []
        self._queue: deque[Record] = deque()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one drain at a time (the hub's thread, or ``flush`` from another)
        self._thread: threading.Thread | None = None

    # -- the Observer protocol (the data plane's loop) --------------------------------------------------------

    def request(self, record: RequestRecord) -> None:
        self._queue.append(record)

    def flow(self, record: FlowRecord) -> None:
        self._queue.append(record)

    def connection(self, record: ConnectionRecord) -> None:
        self._queue.append(record)

    def health_check(self, record: HealthCheckRecord) -> None:
        self._queue.append(record)

    # -- the hub's side ---------------------------------------------------------------------------------------

    def subscribe(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)

    def unsubscribe(self, consumer: Consumer) -> None:
        """Stop feeding ``consumer`` (a test's collector, once the test is over)."""
        with self._lock:  # (not in the middle of a drain)
            self.consumers = [c for c in self.consumers if c is not consumer]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="observability", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, after delivering everything (AWS writes access logs at shutdown too)."""
        self._stop.set()
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
        while not self._stop.wait(DRAIN_SECONDS):
            with self._lock:
                self._drain()
                now = time.time()
                for consumer in self.consumers:
                    try:
                        consumer.tick(now)
                    except Exception:
                        log.exception("observability consumer %r failed", consumer)

    def _drain(self) -> None:
        queue, consumers = self._queue, self.consumers
        while queue:
            record = queue.popleft()
            for consumer in consumers:
                try:
                    consumer.take(record)
                except Exception:
                    log.exception("observability consumer %r failed on %r", consumer, record)
