"""Target choice within one target group: round_robin, least_outstanding_requests, weighted_random.

Pickers read ``TargetGroupRuntime.routable`` (healthy, non-draining; fail-open) and cache what they derive
from it per ``generation``, so a pick costs a few attribute reads. One picker per target group, shared by
every listener forwarding to it (AWS balances per target group).
"""

from __future__ import annotations

import random
import weakref
from bisect import bisect
from itertools import accumulate

from emulator.dataplane.targets import Target, TargetGroupRuntime


def target_weight(target: Target) -> float:
    """Relative share of new requests a routable target gets. The hook for slow start: a ramping target
    returns a fraction of 1.0 here (AWS "slow start mode", linear ramp)."""
    return 1.0


class Picker:
    __slots__ = ("generation", "targets", "cumulative", "position", "algorithm")

    def __init__(self) -> None:
        self.generation = -1
        self.targets: list[Target] = []
        self.cumulative: list[float] = []
        self.position = 0
        self.algorithm = "round_robin"

    def _refresh(self, group: TargetGroupRuntime) -> None:
        self.generation = group.generation
        self.targets = list(group.routable)
        self.cumulative = list(accumulate(target_weight(t) for t in self.targets))
        self.algorithm = group.group.attributes.get("load_balancing.algorithm.type", "round_robin")

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
