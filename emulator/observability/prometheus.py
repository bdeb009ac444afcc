"""``GET /_emulator/metrics``: the load balancers' CloudWatch metrics in the Prometheus text format (version
0.0.4, "Exposition formats" in the Prometheus documentation), for scrapers and Grafana.

Names follow the CloudWatch exporters' convention, ``aws_<namespace>_<metric in snake case>``:
``aws_applicationelb_request_count_total``, ``aws_networkelb_new_flow_count_total``... Labels:
``load_balancer`` (the LoadBalancer dimension, ``app/<name>/<id>``) and, for the metrics AWS publishes per
target group, ``target_group`` (``targetgroup/<name>/<id>``).

- counters (``_total``): the Sum metrics, cumulative since the emulator started;
- ``aws_applicationelb_target_response_time_seconds``: a summary (``_sum``, ``_count``);
- gauges: ActiveConnectionCount, ActiveFlowCount* (the last closed period's value) and Healthy /
  UnHealthyHostCount (the last sample).

They advance when a period closes (every 0.6 s with ``--timing fast``, every minute with ``--timing aws``),
as CloudWatch's do.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict

from flask import Flask, Response

from emulator.observability.metrics import Datapoint

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
GAUGE_PREFIXES = ("ActiveConnectionCount", "ActiveFlowCount", "HealthyHostCount", "UnHealthyHostCount")
SUMMARIES = {"TargetResponseTime": "seconds"}
Labels = tuple[tuple[str, str], ...]


def snake_case(metric: str) -> str:
    """``HTTPCode_Target_2XX_Count`` -> ``httpcode_target_2xx_count``; ``RequestCount`` -> ``request_count``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", metric)
    return re.sub(r"_+", "_", spaced).lower()


def family(namespace: str, metric: str) -> str:
    return f"aws_{namespace.split('/', 1)[-1].lower()}_{snake_case(metric)}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: Labels) -> str:
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels) + "}" if labels else ""


class PrometheusExporter:
    """A ``MetricSink`` keeping cumulative counters and the latest gauges; ``render`` is the scrape body."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._summaries: dict[str, dict[Labels, list[float]]] = defaultdict(dict)  # -> [sum, count]
        self._gauges: dict[str, dict[Labels, float]] = {}

    def publish(self, datapoints: list[Datapoint], period_index: int, period_seconds: float) -> None:
        gauges: dict[str, dict[Labels, float]] = defaultdict(dict)
        with self._lock:
            for point in datapoints:
                dims = dict(point.dimensions)
                if "AvailabilityZone" in dims or "LoadBalancer" not in dims:  # zone and group-only series
                    continue  # repeat the load balancer's
                labels: Labels = (("load_balancer", dims["LoadBalancer"]),)
                if "TargetGroup" in dims:
                    labels += (("target_group", dims["TargetGroup"]),)
                name = family(point.namespace, point.metric)
                if point.metric.startswith(GAUGE_PREFIXES):
                    gauges[name][labels] = point.statistic.sum
                elif point.metric in SUMMARIES:
                    summary = self._summaries[f"{name}_{SUMMARIES[point.metric]}"].setdefault(labels, [0.0, 0.0])
                    summary[0] += point.statistic.sum
                    summary[1] += point.statistic.count
                else:
                    self._counters[f"{name}_total"][labels] += point.statistic.sum
            self._gauges = gauges

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self._counters.items()):
                lines += [f"# HELP {name} CloudWatch Sum, cumulative", f"# TYPE {name} counter"]
                lines += [f"{name}{_labels(labels)} {value:g}" for labels, value in series.items()]
            for name, summaries in sorted(self._summaries.items()):
                lines += [f"# HELP {name} CloudWatch samples", f"# TYPE {name} summary"]
                for labels, (total, count) in summaries.items():
                    lines += [f"{name}_sum{_labels(labels)} {total:g}", f"{name}_count{_labels(labels)} {count:g}"]
            for name, series in sorted(self._gauges.items()):
                lines += [f"# HELP {name} CloudWatch value of the last period", f"# TYPE {name} gauge"]
                lines += [f"{name}{_labels(labels)} {value:g}" for labels, value in series.items()]
        return "\n".join(lines) + "\n"


def register_metrics_routes(app: Flask, exporter: PrometheusExporter | None) -> None:
    """``GET /_emulator/metrics`` (404 with ``--observability off``)."""

    @app.get("/_emulator/metrics")
    def prometheus_metrics() -> Response:
        if exporter is None:
            return Response("observability is off\n", status=404, mimetype="text/plain")
        return Response(exporter.render(), content_type=CONTENT_TYPE)
