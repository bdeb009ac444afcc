"""The metrics pipeline the server subscribes to its observation hub: the aggregator and its sinks."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.observability.cloudwatch import CloudWatchPublisher
from emulator.observability.metrics import MetricsAggregator, MetricSink
from emulator.observability.metrics_alarms import AlarmEvaluator
from emulator.observability.metrics_topology import StoreTopology
from emulator.observability.prometheus import PrometheusExporter
from emulator.store import Store, TargetHealthBoard
from emulator.timing import Timing


@dataclass(frozen=True, slots=True)
class MetricsPipeline:
    aggregator: MetricsAggregator  # the hub Consumer
    exporter: PrometheusExporter  # what GET /_emulator/metrics renders


def metrics_pipeline(store: Store, health: TargetHealthBoard, timing: Timing) -> MetricsPipeline:
    """CloudWatch datapoints into moto first, then the alarms evaluated on them, then the Prometheus counters."""
    exporter = PrometheusExporter()
    sinks: list[MetricSink] = [CloudWatchPublisher(), AlarmEvaluator(), exporter]
    return MetricsPipeline(MetricsAggregator(StoreTopology(store, health), timing, sinks), exporter)
