"""What moto's CloudWatch needs to answer the load balancers' metrics as CloudWatch does, patched in once.

- Exact dimensions. CloudWatch returns a metric's statistics only for the exact dimension combination asked
  for ("CloudWatch concepts: Dimensions": "you must specify the same dimensions that were used when the
  metrics were created"); moto's ``get_metric_statistics`` also adds every datapoint that has more
  dimensions (the per-zone and per-target-group series would add into the load balancer's).
- Dimension order. moto's ``Dimension.__lt__`` compares a value with a name, so ``get_metric_data``'s
  sorted comparison missed metrics with two or more dimensions; they are ordered by (name, value).
- Percentiles. moto ignores ExtendedStatistics and answers nothing for a ``pNN`` Stat; datums the
  publisher stamps with ``samples`` (TargetResponseTime) answer them: ``get_metric_statistics``
  ExtendedStatistics and ``get_metric_data`` ``Stat: "p99"``.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from emulator.observability.metrics_statistic import Statistic, percentile_of

_lock = threading.Lock()
_installed = False
_asked = threading.local()  # the ExtendedStatistics of the GetMetricStatistics call this thread serves


def install_moto_fixes() -> None:
    global _installed
    from moto.cloudwatch.models import CloudWatchBackend, Dimension, Statistics
    from moto.cloudwatch.responses import CloudWatchResponse

    with _lock:
        if _installed:
            return
        _installed = True
        Dimension.__lt__ = _dimension_order  # type: ignore[method-assign]
        backend_statistics = CloudWatchBackend.get_metric_statistics
        response_statistics = CloudWatchResponse.get_metric_statistics
        statistic_for_type = Statistics.get_statistics_for_type

        def get_metric_statistics(self: Any, namespace: str, metric_name: str, start_time: datetime,
                                  end_time: datetime, period: int, stats: list[str],
                                  dimensions: list[dict[str, str]], unit: str | None = None) -> Any:
            wanted = sorted((d["Name"], d.get("Value")) for d in dimensions or [])
            exact = [md for md in self.get_all_metrics() if md.namespace == namespace and md.name == metric_name
                     and sorted((d.name, d.value) for d in md.dimensions) == wanted]
            view: Any = _Datums(exact)  # all moto's method reads of its backend
            found = backend_statistics(view, namespace, metric_name, start_time, end_time, period, stats,
                                       dimensions, unit)
            extended = getattr(_asked, "statistics", None) or []
            for group in found if extended else ():  # the member is absent unless asked for
                values = {name: _percentile(group.metric_data, name) for name in extended}
                group.extended_statistics = {  # type: ignore[attr-defined]  # serialized as ExtendedStatistics
                    name: value for name, value in values.items() if value is not None}
            return found

        def answer_statistics(self: Any) -> Any:
            _asked.statistics = self._get_param("ExtendedStatistics") or []
            try:
                return response_statistics(self)
            finally:
                _asked.statistics = []

        def get_statistics_for_type(self: Any, stat: str) -> Any:
            if percentile_of(stat) is not None:
                return _percentile(self.metric_data, stat)
            return statistic_for_type(self, stat)

        CloudWatchBackend.get_metric_statistics = get_metric_statistics  # type: ignore[method-assign]
        CloudWatchResponse.get_metric_statistics = answer_statistics  # type: ignore[method-assign]
        Statistics.get_statistics_for_type = get_statistics_for_type  # type: ignore[method-assign]


def _dimension_order(self: Any, other: Any) -> bool:
    return (self.name or "", self.value or "") < (other.name or "", other.value or "")


def _percentile(datums: list[Any], name: str) -> float | None:
    percent = percentile_of(name)
    combined = Statistic(samples=[])
    for datum in datums:
        samples = getattr(datum, "samples", None)
        if samples:
            combined.merge(Statistic(datum.sum, datum.sample_count, datum.min, datum.max, list(samples)))
    return combined.percentile(percent) if percent is not None else None


class _Datums:
    """What moto's ``get_metric_statistics`` reads from its backend (``get_all_metrics``), pre-filtered."""

    def __init__(self, datums: list[Any]) -> None:
        self._datums = datums

    def get_all_metrics(self) -> list[Any]:
        return self._datums
