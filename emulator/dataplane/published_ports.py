"""``--listener-ports FIRST-LAST``: every listener accepts traffic on a port of one fixed range.

A container runtime publishes ports one by one, and they must be named when the container starts: with
``docker run -p 4566:4566 -p 4510-4559:4510-4559 ...`` (LocalStack's external service port range is the model)
every listener the emulator will ever make is reachable from the host. Each listener is given a port of the
range when it first appears, the lowest one free, and keeps it while it exists; its own ``Port`` stays what
the API shows and what its requests are told (X-Forwarded-Port, redirects), as behind a port mapping.

``assign_ports`` is the policy, a pure function; ``PublishedPorts`` holds its result between the data plane's
passes and answers the API's question before a listener is created: is a port left?
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PortRange:
    first: int
    last: int

    @classmethod
    def parse(cls, text: str) -> PortRange:
        """``"4510-4559"``; ValueError with a message saying what is wrong."""
        first, dash, last = text.partition("-")
        try:
            ports = cls(int(first), int(last if dash else first))
        except ValueError:
            raise ValueError(f"listener ports must be FIRST-LAST, e.g. 4510-4559, not {text!r}") from None
        if not 1 <= ports.first <= ports.last <= 65535:
            raise ValueError(f"listener ports {text!r}: need 1 <= FIRST <= LAST <= 65535")
        return ports

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


def assign_ports(previous: Mapping[str, int], listeners: Sequence[str], ports: PortRange) -> dict[str, int]:
    """The port of each of ``listeners`` (ARNs, in creation order): the one it had in ``previous``, else the
    lowest free port of the range. Listeners beyond the range's size get none (they are not in the result)."""
    present = set(listeners)
    assigned = {arn: port for arn, port in previous.items() if arn in present}
    taken = set(assigned.values())
    free = (port for port in range(ports.first, ports.last + 1) if port not in taken)
    for arn in listeners:
        if arn not in assigned:
            port = next(free, None)
            if port is None:
                break
            assigned[arn] = port
    return assigned


class PublishedPorts:
    """The range and the ports given out, shared by the data plane (which assigns them at every pass, on its
    loop) and the API (which asks before it creates a listener, on its threads)."""

    def __init__(self, ports: PortRange) -> None:
        self.range = ports
        self._assigned: dict[str, int] = {}
        self._lock = threading.Lock()

    def assign(self, listeners: Sequence[str]) -> dict[str, int]:
        with self._lock:
            self._assigned = assign_ports(self._assigned, listeners, self.range)
            return dict(self._assigned)

    def has_room(self) -> bool:
        """Whether one more listener would get a port."""
        with self._lock:
            return len(self._assigned) < len(self.range)
