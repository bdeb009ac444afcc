"""Target choice within one target group: round_robin, least_outstanding_requests, weighted_random, and the
slow-start ramp of round robin.

AWS ("Routing algorithms" and "Slow start mode", ALB user guide, "Edit target group attributes"): round robin
by default; least outstanding requests sends a request to the target with the fewest in progress; weighted
random spreads requests evenly in a random order; during ``slow_start.duration_seconds`` "the load balancer
linearly increases the number of requests that it sends to the target".

A ``Picker`` belongs to its group's ``TargetGroupRuntime`` (one per group, shared by every listener that
forwards to it, since AWS balances per target group). The runtime hands it the routable targets whenever
they change (``reset``), so a pick costs a few attribute reads.
"""

from __future__ import annotations

import random
import time

from emulator.dataplane.selection.target import Target


def slow_start_factor(target: Target, now: float) -> float:
    """Share of a full weight a target gets now: ramps linearly from 0 to 1 over its slow start.

    ``now`` is ``time.monotonic()``. A small floor keeps a target in its first instant from getting nothing.
    """
    if target.slow_start <= 0.0:
        return 1.0
    elapsed = now - target.healthy_since
    if elapsed >= target.slow_start:
        return 1.0
    return max(elapsed / target.slow_start, 0.01)


class Picker:
    __slots__ = ("targets", "algorithm", "position", "ramp_until", "credit")

    def __init__(self) -> None:
        self.targets: list[Target] = []
        self.algorithm = "round_robin"
        self.position = 0  # round robin (and least-outstanding ties) go on from here across resets
        self.ramp_until = 0.0  # time.monotonic() when the last slow-starting target reaches full weight
        self.credit: list[float] = []  # smooth weighted round robin state while some target ramps

    def reset(self, targets: list[Target], algorithm: str) -> None:
        """The group's routable targets changed (or its algorithm, or a target's slow start)."""
        self.targets = targets
        self.algorithm = algorithm
        self.ramp_until = max((t.healthy_since + t.slow_start for t in targets if t.slow_start > 0.0), default=0.0)
        self.credit = [0.0] * len(targets)

    def pick(self) -> Target | None:
        targets = self.targets
        if len(targets) <= 1:
            return targets[0] if targets else None
        if self.algorithm == "least_outstanding_requests":
            return self._least_outstanding(targets)
        if self.algorithm == "weighted_random":
            return targets[int(random.random() * len(targets))]  # equal weights: uniform
        if self.ramp_until:
            if time.monotonic() < self.ramp_until:
                return self._slow_start(targets)
            self.ramp_until = 0.0  # every ramp is over: plain round robin until the next reset
        self.position = (self.position + 1) % len(targets)
        return targets[self.position]

    def _least_outstanding(self, targets: list[Target]) -> Target:
        # Ties rotate so an idle group still spreads its requests.
        self.position = start = (self.position + 1) % len(targets)
        best = targets[start]
        for i in range(1, len(targets)):
            candidate = targets[(start + i) % len(targets)]
            if candidate.outstanding < best.outstanding:
                best = candidate
        return best

    def _slow_start(self, targets: list[Target]) -> Target:
        """Round robin weighted by each target's ramp (smooth weighted round robin): a target in slow start
        gets a linearly growing share of new requests."""
        now = time.monotonic()
        credit = self.credit
        total = 0.0
        best = 0
        for i, target in enumerate(targets):
            weight = slow_start_factor(target, now)
            total += weight
            credit[i] += weight
            if credit[i] > credit[best]:
                best = i
        credit[best] -= total
        return targets[best]
