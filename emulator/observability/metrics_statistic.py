"""The statistic set of one CloudWatch datapoint (StatisticValues: sum, sample count, minimum, maximum), with
samples for percentiles where AWS documents them as useful (TargetResponseTime).

The samples are all values up to ``MAX_SAMPLES``, then a uniform random subset of that size (reservoir sampling),
so pNN statistics (``get_metric_statistics``' ExtendedStatistics, ``get_metric_data``'s Stat "p99", alarms) stay
close while memory stays bounded; ``merged_samples`` joins two such sets, each weighted by what it stands for.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

MAX_SAMPLES = 2000  # samples a statistic keeps for percentiles


@dataclass(slots=True)
class Statistic:
    """The statistic set of one datapoint (CloudWatch's StatisticValues), and for metrics whose percentiles
    AWS documents as useful (TargetResponseTime), the samples: all of them up to ``MAX_SAMPLES``, then a
    uniform random subset of that size, so pNN statistics stay close while memory stays bounded."""

    sum: float = 0.0
    count: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    samples: list[float] | None = None
    # Reservoir sampling by skips (Li's "Algorithm L", ACM TOMS 20(4), 1994): the weight, and the number of
    # the next value that replaces a sample; random draws grow with log(count), not with count.
    _weight: float = 0.0
    _next: int = 0

    def add(self, value: float, count: float = 1.0) -> None:
        self.sum += value * count
        self.count += count
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        if self.samples is not None:
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append(value)
            elif random.random() * self.count < MAX_SAMPLES:  # reservoir sampling: kept with p = MAX / count,
                self.samples[int(random.random() * MAX_SAMPLES)] = value  # in place of any sample

    def add_many(self, values: list[float]) -> None:
        if not values:
            return
        seen = int(self.count)  # values before these
        self.sum += sum(values)
        self.count += len(values)
        self.minimum = min(self.minimum, min(values))
        self.maximum = max(self.maximum, max(values))
        samples = self.samples
        if samples is None:
            return
        taken = 0
        if len(samples) < MAX_SAMPLES:
            taken = min(MAX_SAMPLES - len(samples), len(values))
            samples.extend(values[:taken])
            if len(samples) < MAX_SAMPLES:
                return
        if self._weight == 0.0:  # the reservoir just filled (or was filled by ``merge``): the skips start here
            self._weight = _shrunk_weight(1.0)
            self._next = seen + taken + _skip(self._weight)
        end = seen + len(values)
        while self._next <= end:  # (values are numbered from 1)
            samples[random.randrange(MAX_SAMPLES)] = values[self._next - seen - 1]
            self._weight = _shrunk_weight(self._weight)
            self._next += _skip(self._weight)

    def merge(self, other: Statistic) -> None:
        if other.samples is not None:
            mine = self.samples if self.samples is not None else []
            self.samples = merged_samples(mine, self.count, other.samples, other.count)
        self.sum += other.sum
        self.count += other.count
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)

    def copy(self) -> Statistic:
        return Statistic(self.sum, self.count, self.minimum, self.maximum,
                         None if self.samples is None else list(self.samples))

    def percentile(self, percent: float) -> float | None:
        """The nearest-rank percentile of the samples (CloudWatch's pNN), None without samples."""
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]

    @classmethod
    def single(cls, value: float) -> Statistic:
        return cls(value, 1.0, value, value)


def _shrunk_weight(weight: float) -> float:
    return weight * math.exp(math.log(1.0 - random.random()) / MAX_SAMPLES)  # (1 - random(): never log(0))


def _skip(weight: float) -> int:
    """How many values on the next kept one is (Algorithm L's geometric skip, plus one)."""
    if weight >= 1.0:
        return 1
    return math.floor(math.log(1.0 - random.random()) / math.log1p(-weight)) + 1


def merged_samples(mine: list[float], my_count: float, theirs: list[float], their_count: float) -> list[float]:
    """Two sample sets as one of at most ``MAX_SAMPLES``, each side weighted by how many values it stands for."""
    if len(mine) + len(theirs) <= MAX_SAMPLES:
        return mine + theirs
    total = my_count + their_count
    keep_mine = min(len(mine), round(MAX_SAMPLES * my_count / total)) if total else 0
    keep_theirs = min(len(theirs), MAX_SAMPLES - keep_mine)
    return random.sample(mine, keep_mine) + random.sample(theirs, keep_theirs)


PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,2})?|100)$")  # p99, p99.9, p50


def percentile_of(statistic_name: str) -> float | None:
    """``p99.9`` -> 99.9; None for anything that is not a pNN statistic."""
    match = PERCENTILE.match(statistic_name)
    return float(match.group(1)) if match else None

