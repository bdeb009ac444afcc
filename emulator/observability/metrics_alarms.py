"""CloudWatch alarms on the load balancers' metrics change state as CloudWatch's would: moto stores alarms
but never evaluates them, so after each published period this evaluator does, and sets the state through
moto's backend (``set_alarm_state``: ``describe_alarms`` and the alarm history see it).

The evaluation follows "Using Amazon CloudWatch alarms" ("Evaluating an alarm", "Configuring how CloudWatch
alarms treat missing data"): the alarm's statistic over each of its last ``EvaluationPeriods`` periods of
``Period`` seconds; ALARM when at least ``DatapointsToAlarm`` (default: all) of them breach the threshold
under ``ComparisonOperator``; a period without data is missing and ``TreatMissingData`` decides:
``missing`` (the default; all missing -> INSUFFICIENT_DATA), ``notBreaching``, ``breaching``, ``ignore``
(all missing keeps the current state). With ``--timing fast`` an alarm's period is scaled like the metrics'
(60 s -> 0.6 s), so an alarm on a one-minute metric reacts within about a second.

Evaluated: metric alarms in ``AWS/ApplicationELB`` and ``AWS/NetworkELB`` on one metric with Statistic
Sum, Average, Minimum, Maximum or SampleCount, or an ExtendedStatistic pNN (metrics with samples:
TargetResponseTime), whose dimensions are exactly a published series'. Not evaluated (left as moto keeps
them): metric-math alarms, anomaly detection; alarm actions (SNS, Auto Scaling) are not run.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import defaultdict
from typing import Any

from emulator.observability.cloudwatch import cloudwatch_backend, naive_utc
from emulator.observability.metrics import ALB_NAMESPACE, AWS_PERIOD_SECONDS, NLB_NAMESPACE, Datapoint
from emulator.observability.metrics_statistic import Statistic, percentile_of

log = logging.getLogger("elbv2_emulator.observability.alarms")

HISTORY_PERIODS = 1440  # an alarm looks back at most one day ("EvaluationPeriods * Period <= 1 day")
PRUNE_EVERY = 60  # periods between two prunings of the history
SAMPLED_METRICS = ("ActiveConnectionCount", "ActiveFlowCount", "HealthyHostCount", "UnHealthyHostCount")
History = dict[int, Statistic]  # period index -> that period's statistic
SeriesKey = tuple[str, str, str, str, frozenset[tuple[str, str]]]  # account, region, namespace, metric, dims

COMPARISONS = {
    "GreaterThanOrEqualToThreshold": (lambda value, threshold: value >= threshold, "greater than or equal to"),
    "GreaterThanThreshold": (lambda value, threshold: value > threshold, "greater than"),
    "LessThanThreshold": (lambda value, threshold: value < threshold, "less than"),
    "LessThanOrEqualToThreshold": (lambda value, threshold: value <= threshold, "less than or equal to"),
}


def statistic_value(stat: Statistic, name: str) -> float | None:
    if (percent := percentile_of(name)) is not None:
        return stat.percentile(percent)
    if name == "Sum":
        return stat.sum
    if name == "SampleCount":
        return stat.count
    if name == "Average":
        return stat.sum / stat.count if stat.count else None
    if name == "Minimum":
        return stat.minimum
    if name == "Maximum":
        return stat.maximum
    return None


class AlarmEvaluator:
    """A ``MetricSink``: keeps a day of per-period statistics per series and evaluates the alarms on them."""

    def __init__(self) -> None:
        self._history: dict[SeriesKey, History] = defaultdict(dict)
        self._scopes: set[tuple[str, str]] = set()  # (account, region) with published metrics

    def publish(self, datapoints: list[Datapoint], period_index: int, period_seconds: float) -> None:
        for point in datapoints:
            key = (point.account, point.region, point.namespace, point.metric, frozenset(point.dimensions))
            history = self._history[key]
            earlier = history.get(period_index)  # the period was published in parts (``flush``)
            if earlier is not None and not point.metric.startswith(SAMPLED_METRICS):
                earlier.merge(point.statistic)
            else:
                history[period_index] = point.statistic
            self._scopes.add((point.account, point.region))
        if period_index % PRUNE_EVERY == 0:
            self._forget_before(period_index - HISTORY_PERIODS)
        for account, region in self._scopes:
            backend = cloudwatch_backend(account, region, create=False)
            if backend is None:
                continue
            for alarm in list(backend.alarms.values()):
                try:
                    self._evaluate(backend, alarm, account, region, period_index, period_seconds)
                except Exception:
                    log.exception("evaluating alarm %s failed", getattr(alarm, "name", alarm))

    def _forget_before(self, oldest: int) -> None:
        for key in list(self._history):
            history = self._history[key]
            for index in [index for index in history if index < oldest]:
                del history[index]
            if not history:
                del self._history[key]

    def _evaluate(self, backend: Any, alarm: Any, account: str, region: str, last: int, period_seconds: float) -> None:
        statistic = alarm.statistic or alarm.extended_statistic
        if alarm.namespace not in (ALB_NAMESPACE, NLB_NAMESPACE) or alarm.metric_data_queries or not statistic:
            return
        comparison = COMPARISONS.get(alarm.comparison_operator)
        if comparison is None:
            return
        breaches, words = comparison
        dims = frozenset((d.name, d.value) for d in alarm.dimensions)
        history = self._history.get((account, region, alarm.namespace, alarm.metric_name, dims), {})
        per_alarm_period = max(1, round(int(alarm.period) / AWS_PERIOD_SECONDS))
        periods = int(alarm.evaluation_periods)
        needed = int(alarm.datapoints_to_alarm or periods)
        values: list[tuple[float, float | None]] = []  # (alarm period's start, its value or None), newest first
        for offset in range(periods):
            newest = last - offset * per_alarm_period
            stat = Statistic()
            for index in range(newest - per_alarm_period + 1, newest + 1):
                if index in history:
                    stat.merge(history[index])
            start = (newest - per_alarm_period + 1) * period_seconds
            values.append((start, statistic_value(stat, statistic) if stat.count else None))
        threshold = float(alarm.threshold)
        present = [(start, value) for start, value in values if value is not None]
        breaching = sum(1 for _, value in present if breaches(value, threshold))
        treat = alarm.treat_missing_data or "missing"
        if treat == "breaching":
            breaching += periods - len(present)
        if breaching >= needed:
            state = "ALARM"
        elif present or treat in ("notBreaching", "breaching"):
            state = "OK"
        elif treat == "ignore":
            return
        else:
            state = "INSUFFICIENT_DATA"
        if state == alarm.state_value and not alarm.state_reason.startswith("Unchecked"):
            return
        reason = _reason(state, present, periods, words, threshold)
        data = _reason_data(statistic, int(alarm.period), values, threshold)
        backend.set_alarm_state(alarm.name, reason, data, state)


def _stamp(start: float) -> str:
    return naive_utc(start).strftime("%d/%m/%y %H:%M:%S")


def _reason(state: str, present: list[tuple[float, float]], periods: int, words: str, threshold: float) -> str:
    """CloudWatch's wording, e.g. "Threshold Crossed: 1 datapoint [5.0 (02/12/26 07:01:00)] was greater than
    or equal to the threshold (1.0)."."""
    if not present:
        plural = "s were" if periods > 1 else " was"
        if state == "INSUFFICIENT_DATA":
            return f"Insufficient Data: {periods} datapoint{plural} unknown."
        treated = "Breaching" if state == "ALARM" else "NonBreaching"
        return (f"Threshold Crossed: no datapoints were received for {periods} period{'s' if periods > 1 else ''} "
                f"and {periods} missing datapoint{plural} treated as [{treated}].")
    shown = ", ".join(f"{value} ({_stamp(start)})" for start, value in present)
    plural = "s" if len(present) > 1 else ""
    verb = ("were" if len(present) > 1 else "was") + ("" if state == "ALARM" else " not")
    return f"Threshold Crossed: {len(present)} datapoint{plural} [{shown}] {verb} {words} the threshold ({threshold})."


def _reason_data(statistic: str, period: int, values: list[tuple[float, float | None]], threshold: float) -> str:
    def iso(start: float) -> str:
        return naive_utc(start).isoformat(timespec="milliseconds") + "+0000"

    recent = [value for _, value in values if value is not None and math.isfinite(value)]
    return json.dumps({
        "version": "1.0",
        "queryDate": iso(time.time()),
        "startDate": iso(values[-1][0]),
        "statistic": statistic,
        "period": period,
        "recentDatapoints": recent,
        "threshold": threshold,
        "evaluatedDatapoints": [{"timestamp": iso(start), **({"value": value} if value is not None else {})}
                                for start, value in values],
    })
