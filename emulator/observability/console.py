"""``--log-requests``: one line per ALB request or NLB flow, in access-log form, as the traffic happens.

ALB requests are printed as AWS's ALB access log entries (``access_log``), NLB flows as its NLB access log
entries (``nlb_access_log``; TCP and UDP flows too, with type ``tcp``/``udp`` and the TLS fields ``-``, since
AWS logs none for them). Lines go to the given stream (stdout by default) as the hub hands records over,
within its 50 ms drain.
"""

from __future__ import annotations

import sys
from typing import TextIO

from emulator.observability.access_log import format_request
from emulator.observability.hub import Batch
from emulator.observability.nlb_access_log import format_flow


class RequestPrinter:
    """A hub consumer (``emulator.observability.hub.Consumer``) that prints traffic lines."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def take(self, batch: Batch) -> None:
        lines = [format_request(record) for record in batch.requests] + [format_flow(flow) for flow in batch.flows]
        if lines:
            self._write("\n".join(lines))

    def tick(self, now: float) -> None:
        """Nothing is buffered: each batch's lines were written when it arrived."""

    def flush(self) -> None:
        (self._stream or sys.stdout).flush()

    def _write(self, lines: str) -> None:
        stream = self._stream or sys.stdout  # looked up per batch: tests and tools may swap sys.stdout
        stream.write(lines + "\n")
        stream.flush()
