"""Target choice within one target group: round_robin, least_outstanding_requests, weighted_random.

Pickers read ``TargetGroupRuntime.routable`` (healthy, non-draining; fail-open) and cache what they derive
from it per ``generation``, so a pick costs a few attribute reads. One picker per target group, shared by
every listener forwarding to it (AWS balances per target group).
"""

from __future__ import annotations

import random
import time
import weakref
from bisect import bisect
from itertools import accumulate

from emulator.dataplane.targets import Target, TargetGroupRuntime, slow_start_factor


def target_weight(target: Target) -> float:
    """Relative share of new requests a routable target gets. The hook for slow start: a ramping target
    returns a fraction of 1.0 here (AWS "slow start mode", linear ramp)."""
    return 1.0


class Picker:
    __slots__ = ("generation", "targets", "cumulative", "position", "algorithm", "ramp_until", "credit")

    def __init__(self) -> None:
        self.generation = -1
        self.targets: list[Target] = []
        self.cumulative: list[float] = []
        self.position = 0
        self.algorithm = "round_robin"
        self.ramp_until = 0.0  # time.monotonic() when the last slow-starting target reaches full weight
        self.credit: list[float] = []  # smooth weighted round robin state while some target ramps

    def _refresh(self, group: TargetGroupRuntime) -> None:
        self.generation = group.generation
        self.targets = list(group.routable)
        self.cumulative = list(accumulate(target_weight(t) for t in self.targets))
        self.algorithm = group.group.attributes.get("load_balancing.algorithm.type", "round_robin")
        self.ramp_until = max((t.healthy_since + t.slow_start for t in self.targets if t.slow_start > 0.0), default=0.0)
        self.credit = [0.0] * len(self.targets)

    def pick(self, group: TargetGroupRuntime) -> Target | None:
        if group.generation != self.generation:
            self._refresh(group)
        targets = self.targets
        if not targets:
            return None
        if len(targets) == 1:
            return targets[0]
        if self.algorithm == "least_outstanding_requests":
            return self._least_outstanding(targets)
        if self.algorithm == "weighted_random":
            return self._weighted(targets)
        if self.ramp_until and time.monotonic() < self.ramp_until:
            return self._slow_start(targets)
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
        """Round robin weighted by each target's slow-start ramp (smooth weighted round robin): a target
        in slow start gets a linearly growing share of new requests (AWS ``slow_start.duration_seconds``)."""
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

    def _weighted(self, targets: list[Target]) -> Target:
        total = self.cumulative[-1]
        index = bisect(self.cumulative, random.random() * total)
        return targets[min(index, len(targets) - 1)]


_pickers: weakref.WeakKeyDictionary[TargetGroupRuntime, Picker] = weakref.WeakKeyDictionary()


def picker_for(group: TargetGroupRuntime) -> Picker:
    """The group's picker (created on first use; gone with the group)."""
    picker = _pickers.get(group)
    if picker is None:
        picker = _pickers[group] = Picker()
    return picker
