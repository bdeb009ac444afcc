"""CloudWatch metrics from the traffic records: a hub ``Consumer`` that tallies records per period and, when a
period closes, turns the tallies into AWS's datapoints for the ``MetricSink``s (moto's CloudWatch, the alarm
evaluator, the Prometheus endpoint).

What AWS publishes, and how it is derived here ("CloudWatch metrics for your Application Load Balancer",
"CloudWatch metrics for your Network Load Balancer"):

- ``AWS/ApplicationELB``, from the listeners' request counts (``ListenerCounters``): RequestCount (requests
  for which a target group was chosen: "only incremented for requests where the load balancer node was able
  to choose a target"),
  HTTPCode_Target_{2,3,4,5}XX_Count (the target answered), HTTPCode_ELB_{3,4,5}XX_Count and
  HTTPCode_ELB_{500,502,503,504}_Count (the load balancer answered itself), HTTP_Fixed_Response_Count and
  HTTP_Redirect_Count (the fixed-response and redirect actions that answered), TargetConnectionErrorCount
  (requests whose target refused or did not accept a connection), TargetResponseTime (seconds from
  forwarding to the target's response head), ProcessedBytes (request and response bytes), RuleEvaluations
  (the listener rules evaluated, in priority order, up to the one that matched), RequestCountPerTarget
  (RequestCount over the group's healthy targets); from the listeners' connection counts:
  NewConnectionCount, ActiveConnectionCount (connections open at some time in the period),
  RejectedConnectionCount (refused connections, mTLS failures excepted: AWS counts connections refused "because
  the load balancer had reached its maximum number of connections").
- ``AWS/NetworkELB``, from the listeners' flow counts (``FlowCounters``, counted as flows start and end):
  NewFlowCount ("new flows ... established from clients to targets in the time period"), ActiveFlowCount (flows
  open at some time in the period: those open when it began, and its new ones), and their _TCP / _TLS / _UDP
  variants (a TCP_UDP listener's flows count as TCP or UDP); from ``FlowRecord`` (reported when a flow ends, so
  these count in the period it ends): ProcessedBytes, TCP_Client_Reset_Count, TCP_Target_Reset_Count,
  TCP_ELB_Reset_Count.
- Both: HealthyHostCount and UnHealthyHostCount, sampled from target health at each period's end
  (``metrics_topology``), for every target group a listener forwards to, when its health checks are enabled.

Dimensions are AWS's: ``LoadBalancer`` (``app/<name>/<id>``, ``net/<name>/<id>``), ``TargetGroup``
(``targetgroup/<name>/<id>``, always with LoadBalancer), and ``AvailabilityZone`` where AWS publishes it. The
emulator runs one node per load balancer, so traffic is attributed to the load balancer's first Availability
Zone; host counts use the target's registered zone when it has one.

A period is 60 s, AWS's, on the emulator's clock: ``Timing.seconds(60)`` (0.6 s with ``--timing fast``).
``metrics_tally`` tallies each drain's growth of the totals (and the flow records) into the open period; this
module closes periods and expands their tallies into datapoints. Each datapoint carries the period's sum,
sample count, minimum and maximum (``metrics_statistic``), so Sum, Average, Minimum, Maximum and SampleCount are
exact; TargetResponseTime keeps samples too, so percentiles (p50, p99, ...) work in ``get_metric_statistics``
(ExtendedStatistics), ``get_metric_data`` (Stat "p99") and alarms.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol

from api_models.observations import NO_GROUP
from emulator.observability.hub import Batch
from emulator.observability.metrics_statistic import Statistic
from emulator.observability.metrics_tally import Period, Tallier, Tally
from emulator.observability.metrics_topology import HostCounts, Topology, TopologyReader, target_group_dimension
from emulator.timing import Timing

log = logging.getLogger("elbv2_emulator.observability.metrics")

ALB_NAMESPACE, NLB_NAMESPACE = "AWS/ApplicationELB", "AWS/NetworkELB"
AWS_PERIOD_SECONDS = 60.0  # "Elastic Load Balancing measures and sends its metrics in 60-second intervals"
Dimensions = tuple[tuple[str, str], ...]  # (Name, Value) pairs in AWS's order

# Metrics that AWS also publishes per target group (with TargetGroup, LoadBalancer [, AvailabilityZone]).
TARGET_GROUP_METRICS = frozenset({
    "RequestCount", "HTTPCode_Target_2XX_Count", "HTTPCode_Target_3XX_Count", "HTTPCode_Target_4XX_Count",
    "HTTPCode_Target_5XX_Count", "TargetResponseTime", "TargetConnectionErrorCount",
})
# Metrics AWS publishes per load balancer only, never per zone.
LOAD_BALANCER_ONLY_METRICS = frozenset({"RuleEvaluations", "HTTP_Fixed_Response_Count", "HTTP_Redirect_Count"})
UNITS = {"TargetResponseTime": "Seconds", "ProcessedBytes": "Bytes"}  # everything else is a Count


@dataclass(frozen=True, slots=True)
class Datapoint:
    """One datapoint of one metric for one period, as CloudWatch stores it."""

    account: str
    region: str
    namespace: str
    metric: str
    dimensions: Dimensions
    period_start: float  # wall-clock seconds
    statistic: Statistic
    unit: str


class MetricSink(Protocol):
    """Where closed periods go: ``publish`` runs on the hub's thread after each period."""

    def publish(self, datapoints: list[Datapoint], period_index: int, period_seconds: float) -> None: ...


class MetricsAggregator:
    """The hub consumer: ``take`` tallies a record into the open period, ``tick`` closes it when it is over."""

    def __init__(self, topology: TopologyReader, timing: Timing, sinks: list[MetricSink]) -> None:
        self._topology = topology
        self._sinks = sinks
        self.period_seconds = timing.seconds(AWS_PERIOD_SECONDS)
        self._period: Period | None = None
        self._tallier = Tallier()

    # -- the Consumer protocol (the hub's thread) ---------------------------------------------------------

    def take(self, batch: Batch) -> None:
        if self._period is None:  # before the first tick: the batch opens the first period
            self.tick(time.time())
        period = self._period
        assert period is not None
        self._tallier.take(period, batch)

    def tick(self, now: float) -> None:
        index = int(now // self.period_seconds)
        if self._period is None:
            self._period = Period(index)
            self._tallier.carry_open()
        elif index > self._period.index:
            closed, self._period = self._period, Period(index)
            self._close(closed)
            self._tallier.carry_open()

    def flush(self) -> None:
        """Publish the open period so far (shutdown, ``ObservationHub.flush``); the rest of it follows when
        it ends, merged into the same minute's datapoints."""
        if self._period is not None:
            self._tallier.flush(self._period)
        if self._period is not None and (self._period.tallies or self._period.rule_matches):
            closed, self._period = self._period, Period(self._period.index)
            self._close(closed)

    # -- closing a period -------------------------------------------------------------------------------------

    def _close(self, period: Period) -> None:
        topology = self._topology.read()
        start = period.index * self.period_seconds
        datapoints = _Builder(topology, start)
        self._tallier.add_active(period)
        for (lb_arn, tg_arn), tally in period.tallies.items():
            datapoints.traffic(lb_arn, tg_arn, tally)
        for lb_arn, evaluated in self._rule_evaluations(topology, period).items():
            datapoints.add(lb_arn, NO_GROUP, None, "RuleEvaluations", Statistic.single(evaluated))
        for hosts in topology.host_counts():
            datapoints.hosts(hosts)
        built = datapoints.finish()
        for sink in self._sinks:
            try:
                sink.publish(built, period.index, self.period_seconds)
            except Exception:
                log.exception("metric sink %r failed", sink)

    @staticmethod
    def _rule_evaluations(topology: Topology, period: Period) -> dict[str, float]:
        evaluated: dict[str, float] = defaultdict(float)
        for (lb_arn, listener_arn, priority), requests in period.rule_matches.items():
            evaluated[lb_arn] += requests * topology.rules_evaluated(listener_arn, priority)
        return evaluated


class _Builder:
    """Expands one period's tallies into datapoints for every dimension set AWS publishes them under."""

    def __init__(self, topology: Topology, period_start: float) -> None:
        self._topology = topology
        self._start = period_start
        # (LB ARN, TG ARN or NO_GROUP, zone or None, metric) -> statistic
        self._points: dict[tuple[str, str, str | None, str], Statistic] = {}

    def traffic(self, lb_arn: str, tg_arn: str, tally: Tally) -> None:
        zone = self._topology.traffic_zone(lb_arn)
        for metric, value in tally.counts.items():
            if value:  # "Reporting criteria: There is a nonzero value"
                self._traffic_point(lb_arn, tg_arn, zone, metric, Statistic.single(value))
        if tally.response_time.count:
            self._traffic_point(lb_arn, tg_arn, zone, "TargetResponseTime", tally.response_time)

    def _traffic_point(self, lb_arn: str, tg_arn: str, zone: str | None, metric: str, stat: Statistic) -> None:
        per_group = metric in TARGET_GROUP_METRICS and tg_arn != NO_GROUP
        for group in (NO_GROUP, tg_arn) if per_group else (NO_GROUP,):
            self.add(lb_arn, group, None, metric, stat)
            if zone is not None and metric not in LOAD_BALANCER_ONLY_METRICS:
                self.add(lb_arn, group, zone, metric, stat)

    def hosts(self, hosts: HostCounts) -> None:
        for zone in (None, hosts.zone):  # the group's total, and its zone's count
            self.add(hosts.load_balancer_arn, hosts.target_group_arn, zone, "HealthyHostCount", Statistic.single(hosts.healthy))
            self.add(hosts.load_balancer_arn, hosts.target_group_arn, zone, "UnHealthyHostCount", Statistic.single(hosts.unhealthy))

    def add(self, lb_arn: str, tg_arn: str, zone: str | None, metric: str, stat: Statistic) -> None:
        key = (lb_arn, tg_arn, zone, metric)
        found = self._points.get(key)
        if found is None:
            self._points[key] = stat.copy()
        elif metric.endswith("HostCount"):  # one sample per period: the zones' counts add up
            found.sum += stat.sum
            found.minimum = found.maximum = found.sum
        else:
            found.merge(stat)

    def finish(self) -> list[Datapoint]:
        out: list[Datapoint] = []
        for (lb_arn, tg_arn, zone, metric), stat in self._points.items():
            lb = self._topology.load_balancer(lb_arn)
            if lb is None:  # deleted while the period was open: AWS stops publishing it
                continue
            dims: list[tuple[str, str]] = []
            if tg_arn != NO_GROUP:
                dims.append(("TargetGroup", target_group_dimension(tg_arn)))
            if zone is not None:
                dims.append(("AvailabilityZone", zone))
            dims.append(("LoadBalancer", lb.dimension))
            out.append(Datapoint(lb.account, lb.region, lb.namespace, metric, tuple(dims), self._start, stat,
                                 UNITS.get(metric, "Count")))
        return out + self._requests_per_target()

    def _requests_per_target(self) -> list[Datapoint]:
        """RequestCountPerTarget: "the average number of requests received by each target in a target group",
        the group's RequestCount over its healthy targets, per (TargetGroup, LoadBalancer) and per TargetGroup
        (over every load balancer forwarding to it); AWS's one statistic for it is Sum."""
        out: list[Datapoint] = []
        per_group: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # TG ARN -> [requests, healthy]
        scopes: dict[str, tuple[str, str]] = {}
        for (lb_arn, tg_arn, zone, metric), stat in self._points.items():
            lb = self._topology.load_balancer(lb_arn)
            if metric != "RequestCount" or tg_arn == NO_GROUP or zone is not None or lb is None:
                continue
            hosts = self._points.get((lb_arn, tg_arn, None, "HealthyHostCount"))
            healthy = hosts.sum if hosts is not None else 0.0
            totals = per_group[tg_arn]
            totals[0], totals[1] = totals[0] + stat.sum, max(totals[1], healthy)
            scopes[tg_arn] = (lb.account, lb.region)
            if healthy:
                dims = (("TargetGroup", target_group_dimension(tg_arn)), ("LoadBalancer", lb.dimension))
                out.append(Datapoint(lb.account, lb.region, ALB_NAMESPACE, "RequestCountPerTarget", dims, self._start,
                                     Statistic.single(stat.sum / healthy), "Count"))
        for tg_arn, (requests, healthy) in per_group.items():
            if healthy:
                account, region = scopes[tg_arn]
                out.append(Datapoint(account, region, ALB_NAMESPACE, "RequestCountPerTarget",
                                     (("TargetGroup", target_group_dimension(tg_arn)),), self._start,
                                     Statistic.single(requests / healthy), "Count"))
        return out
