"""Datapoints into moto's in-process CloudWatch, where boto3's ``get_metric_statistics``, ``get_metric_data``
and ``list_metrics`` on the emulator's endpoint find them, in the load balancer's own account and region.

Timestamps. ELB's datapoints are one per metric per minute ("measures and sends its metrics in 60-second
intervals"), stamped with the minute's start. With ``--timing fast`` a period lasts 0.6 s, but the datapoints
keep real wall-clock minutes: each fast period is merged into its minute's datapoint (sums and sample counts
add up, minimum and maximum widen), so a user asking for Period=60 over the last minutes gets one datapoint
per minute whose Sum is every request of that minute, and nothing is stamped in the future. The current
minute's datapoint grows as its fast periods close; moto's memory grows by minutes, not by fast periods.

AWS matches a query's dimensions exactly ("you must specify the same dimensions that were used when the
metrics were created", "CloudWatch concepts: Dimensions"); moto's ``get_metric_statistics`` matches any
datapoint that has the queried dimensions among others, which would add the per-zone and per-target-group
datapoints into the load balancer's: ``metrics_moto`` restores AWS's rule and adds percentiles.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from emulator.observability.metrics import AWS_PERIOD_SECONDS, Datapoint, Dimensions
from emulator.observability.metrics_moto import install_moto_fixes
from emulator.observability.metrics_statistic import merged_samples

RECENT_DATUMS = 20_000  # how far back from the newest a datum of the current minute is looked for
SeriesKey = tuple[str, str, str, str, Dimensions]  # account, region, namespace, metric, dimensions


def cloudwatch_backend(account: str, region: str, create: bool) -> Any:
    """moto's CloudWatch backend; with ``create`` False, None rather than making one nobody used."""
    from moto.cloudwatch.models import cloudwatch_backends

    if not create:  # dict.get: moto creates backends on first lookup
        per_account = dict.get(cloudwatch_backends, account)
        return None if per_account is None else dict.get(per_account, region)
    return cloudwatch_backends[account][region]


def naive_utc(seconds: float) -> datetime:
    """moto keeps timestamps as naive UTC datetimes."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


class CloudWatchPublisher:
    """A ``MetricSink``: merges each period's datapoints into the datapoint of their minute, in moto."""

    def __init__(self) -> None:
        install_moto_fixes()
        # (series, minute start) -> (moto datum, where it was put in moto's list)
        self._current: dict[tuple[SeriesKey, float], tuple[Any, int]] = {}

    def publish(self, datapoints: list[Datapoint], period_index: int, period_seconds: float) -> None:
        from moto.cloudwatch.models import MetricAggregatedDatum

        latest_minute = 0.0
        for point in datapoints:
            minute = point.period_start - point.period_start % AWS_PERIOD_SECONDS
            latest_minute = max(latest_minute, minute)
            series = (point.account, point.region, point.namespace, point.metric, point.dimensions)
            backend = cloudwatch_backend(point.account, point.region, create=True)
            stat = point.statistic
            previous, hint = self._current.get((series, minute), (None, -1))
            data = backend.metric_data  # one list throughout: a moto reset swaps in a new one
            at = _index_of(data, previous, hint) if previous is not None else None
            samples = stat.samples
            if previous is not None and at is not None:
                sum_, count = previous.sum + stat.sum, previous.sample_count + stat.count
                low, high = min(previous.min, stat.minimum), max(previous.max, stat.maximum)
                if samples is not None:
                    samples = merged_samples(previous.samples or [], previous.sample_count, samples, stat.count)
            else:  # the minute's first period, or moto was reset since
                sum_, count, low, high = stat.sum, stat.count, stat.minimum, stat.maximum
            datum = MetricAggregatedDatum(
                namespace=point.namespace, name=point.metric, min_stat=low, max_stat=high, sample_count=count,
                sum_stat=sum_, dimensions=[{"Name": name, "Value": value} for name, value in point.dimensions],
                timestamp=naive_utc(minute), unit=point.unit,
            )
            datum.samples = samples  # type: ignore[attr-defined]  # read by metrics_moto for pNN statistics
            if at is not None:  # one list assignment: readers on API threads see the old datum or the new one
                data[at] = datum
            else:
                at = len(data)
                data.append(datum)
            self._current[(series, minute)] = (datum, at)
        # Only the newest minutes can still grow; forget older ones (their datums stay in moto).
        self._current = {key: datum for key, datum in self._current.items() if key[1] >= latest_minute - AWS_PERIOD_SECONDS}


def _index_of(data: list[Any], datum: Any, hint: int) -> int | None:
    """Where ``datum`` is in moto's list: where it was put, unless the list changed under it (moto only
    appends and resets), then among the newest (it was published this minute)."""
    if 0 <= hint < len(data) and data[hint] is datum:
        return hint
    for index in range(len(data) - 1, max(-1, len(data) - 1 - RECENT_DATUMS), -1):
        if data[index] is datum:
            return index
    return None
