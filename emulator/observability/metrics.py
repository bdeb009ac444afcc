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
Each datapoint carries the period's sum, sample count, minimum and maximum, so Sum, Average, Minimum, Maximum
and SampleCount are exact; TargetResponseTime keeps samples too, so percentiles (p50, p99, ...) work in
``get_metric_statistics`` (ExtendedStatistics), ``get_metric_data`` (Stat "p99") and alarms.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

from api_models.observations import FLOW_PROTOCOLS, NO_GROUP, FlowCounters, FlowRecord, GroupCounters, ListenerCounters
from emulator.observability.hub import Batch
from emulator.observability.metrics_topology import HostCounts, Topology, TopologyReader, target_group_dimension
from emulator.timing import Timing

log = logging.getLogger("elbv2_emulator.observability.metrics")

ALB_NAMESPACE, NLB_NAMESPACE = "AWS/ApplicationELB", "AWS/NetworkELB"
AWS_PERIOD_SECONDS = 60.0  # "Elastic Load Balancing measures and sends its metrics in 60-second intervals"
MAX_SAMPLES = 2000  # samples a statistic keeps for percentiles
Dimensions = tuple[tuple[str, str], ...]  # (Name, Value) pairs in AWS's order

# Metrics that AWS also publishes per target group (with TargetGroup, LoadBalancer [, AvailabilityZone]).
TARGET_GROUP_METRICS = frozenset({
    "RequestCount", "HTTPCode_Target_2XX_Count", "HTTPCode_Target_3XX_Count", "HTTPCode_Target_4XX_Count",
    "HTTPCode_Target_5XX_Count", "TargetResponseTime", "TargetConnectionErrorCount",
})
# Metrics AWS publishes per load balancer only, never per zone.
LOAD_BALANCER_ONLY_METRICS = frozenset({"RuleEvaluations", "HTTP_Fixed_Response_Count", "HTTP_Redirect_Count"})
UNITS = {"TargetResponseTime": "Seconds", "ProcessedBytes": "Bytes"}  # everything else is a Count


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


@dataclass(slots=True)
class _Tally:
    """What one load balancer's traffic to one target group (or to none) added up to in one period."""

    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    response_time: Statistic = field(default_factory=lambda: Statistic(samples=[]))


@dataclass(slots=True)
class _Period:
    index: int
    tallies: dict[tuple[str, str], _Tally] = field(default_factory=dict)  # (LB ARN, TG ARN or NO_GROUP)
    # (LB ARN, listener ARN, priority of the matched rule) -> requests
    rule_matches: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def tally(self, load_balancer_arn: str, target_group_arn: str) -> _Tally:
        key = (load_balancer_arn, target_group_arn)
        found = self.tallies.get(key)
        if found is None:
            found = self.tallies[key] = _Tally()
        return found


@dataclass(slots=True)
class _Seen:
    """What the aggregator has already tallied of one ``GroupCounters``."""

    requests: int = 0
    target_statuses: dict[int, int] = field(default_factory=dict)
    elb_statuses: dict[int, int] = field(default_factory=dict)
    fixed_responses: int = 0
    redirects: int = 0
    processed_bytes: int = 0
    target_connection_errors: int = 0
    response_times: list[float] = field(default_factory=list)  # replaced at the last drain, tallied at the next


# Metric names by status class (code // 100), exact code, and the action that answered: looked up per request.
_TARGET_CODE_METRICS = {n: f"HTTPCode_Target_{n}XX_Count" for n in range(1, 6)}
_ELB_CODE_METRICS = {n: f"HTTPCode_ELB_{n}XX_Count" for n in range(3, 6)}  # AWS has no HTTPCode_ELB_2XX_Count
_ELB_EXACT_METRICS = {code: f"HTTPCode_ELB_{code}_Count" for code in (500, 502, 503, 504)}
_ANSWERING_ACTION_METRICS = {"fixed-response": "HTTP_Fixed_Response_Count", "redirect": "HTTP_Redirect_Count"}


class MetricsAggregator:
    """The hub consumer: ``take`` tallies a record into the open period, ``tick`` closes it when it is over."""

    def __init__(self, topology: TopologyReader, timing: Timing, sinks: list[MetricSink]) -> None:
        self._topology = topology
        self._sinks = sinks
        self.period_seconds = timing.seconds(AWS_PERIOD_SECONDS)
        self._period: _Period | None = None
        self._open_at_start: dict[str, int] = {}  # LB ARN -> client connections open when the period began
        # What has been tallied of each ALB listener's totals (kept as long as the hub keeps the totals).
        self._seen: dict[GroupCounters, _Seen] = {}
        self._seen_rules: dict[str, dict[int, int]] = {}  # listener ARN -> rule priority -> requests
        self._seen_connections: dict[str, tuple[int, int]] = {}  # listener ARN -> (admitted, rejected) so far
        self._listeners: list[ListenerCounters] = []  # as of the last batch
        # LB ARN -> protocol -> NLB flows open when the period began
        self._flows_open_at_start: dict[str, dict[str, int]] = {}
        # Each NLB listener's flow totals as last tallied, by protocol: (opened, closed).
        self._seen_flows: dict[FlowCounters, tuple[dict[str, int], dict[str, int]]] = {}

    # -- the Consumer protocol (the hub's thread) ---------------------------------------------------------

    def take(self, batch: Batch) -> None:
        if self._period is None:  # before the first tick: the batch opens the first period
            self.tick(time.time())
        period = self._period
        assert period is not None
        self._listeners = batch.counters
        self._harvest(period, batch.counters)
        for flow_listener in batch.flow_counters:
            self._tally_flows(period, flow_listener)
        for flow in batch.flows:
            self._flow(period, flow)
        # (health checks are excluded from AWS's metrics)

    def tick(self, now: float) -> None:
        index = int(now // self.period_seconds)
        if self._period is None:
            self._period = _Period(index)
            self._carry_open()
        elif index > self._period.index:
            closed, self._period = self._period, _Period(index)
            self._close(closed)
            self._carry_open()

    def flush(self) -> None:
        """Publish the open period so far (shutdown, ``ObservationHub.flush``); the rest of it follows when
        it ends, merged into the same minute's datapoints."""
        if self._period is not None:
            self._harvest(self._period, self._listeners, final=True)
        if self._period is not None and (self._period.tallies or self._period.rule_matches):
            closed, self._period = self._period, _Period(self._period.index)
            self._close(closed)

    # -- tallying ---------------------------------------------------------------------------------------------

    def _harvest(self, period: _Period, listeners: list[ListenerCounters], final: bool = False) -> None:
        """What each ALB listener's totals grew by since the last drain, into the open period. ``final``
        (``flush``): the response times of this drain too, not only those of the last."""
        for listener in listeners:
            load_balancer_arn = listener.load_balancer_arn
            for group_arn, group in list(listener.groups.items()):  # (the loop may add a group meanwhile)
                seen = self._seen.get(group)
                if seen is None:
                    seen = self._seen[group] = _Seen()
                if group.requests == seen.requests and not seen.response_times:
                    continue
                self._tally_group(period.tally(load_balancer_arn, group_arn), group_arn != NO_GROUP, group, seen,
                                  final)
            self._tally_connections(period, listener)
            matches = dict(listener.rule_matches)
            seen_matches = self._seen_rules.setdefault(listener.listener_arn, {})
            for priority, total in matches.items():
                if total != seen_matches.get(priority, 0):
                    rule = (load_balancer_arn, listener.listener_arn, priority)
                    period.rule_matches[rule] = period.rule_matches.get(rule, 0) + total - seen_matches.get(priority, 0)
            self._seen_rules[listener.listener_arn] = matches

    @staticmethod
    def _tally_group(tally: _Tally, counted: bool, group: GroupCounters, seen: _Seen, final: bool) -> None:
        counts = tally.counts
        requests = group.requests
        if counted:  # RequestCount: only "requests where the load balancer node was able to choose a target"
            counts["RequestCount"] += requests - seen.requests
        target_statuses, elb_statuses = dict(group.target_statuses), dict(group.elb_statuses)
        for code, total in target_statuses.items():
            if total != seen.target_statuses.get(code, 0):
                counts[_TARGET_CODE_METRICS.get(code // 100, "HTTPCode_Target_5XX_Count")] += (
                    total - seen.target_statuses.get(code, 0))
        for code, total in elb_statuses.items():
            grown = total - seen.elb_statuses.get(code, 0)
            if grown and code >= 300:
                counts[_ELB_CODE_METRICS.get(code // 100, "HTTPCode_ELB_5XX_Count")] += grown
                if code in _ELB_EXACT_METRICS:
                    counts[_ELB_EXACT_METRICS[code]] += grown
        fixed, redirects, processed = group.fixed_responses, group.redirects, group.processed_bytes
        connection_errors = group.target_connection_errors
        if connection_errors != seen.target_connection_errors:
            counts["TargetConnectionErrorCount"] += connection_errors - seen.target_connection_errors
        if fixed != seen.fixed_responses:
            counts["HTTP_Fixed_Response_Count"] += fixed - seen.fixed_responses
        if redirects != seen.redirects:
            counts["HTTP_Redirect_Count"] += redirects - seen.redirects
        counts["ProcessedBytes"] += processed - seen.processed_bytes
        fresh, group.response_times = group.response_times, []
        tally.response_time.add_many(seen.response_times)
        if final:
            tally.response_time.add_many(fresh)
            fresh = []
        seen.requests, seen.target_statuses, seen.elb_statuses = requests, target_statuses, elb_statuses
        seen.fixed_responses, seen.redirects, seen.processed_bytes, seen.response_times = (
            fixed, redirects, processed, fresh)
        seen.target_connection_errors = connection_errors

    def _tally_connections(self, period: _Period, listener: ListenerCounters) -> None:
        """NewConnectionCount and RejectedConnectionCount (refusals by security groups and the connection cap:
        AWS counts those "because the load balancer had reached its maximum number of connections")."""
        seen = self._seen_connections.get(listener.listener_arn, (0, 0))
        admitted, rejected = listener.new_connections, listener.rejected_connections
        if (admitted, rejected) == seen:
            return
        counts = period.tally(listener.load_balancer_arn, NO_GROUP).counts
        counts["NewConnectionCount"] += admitted - seen[0]
        counts["RejectedConnectionCount"] += rejected - seen[1]
        self._seen_connections[listener.listener_arn] = (admitted, rejected)

    def _tally_flows(self, period: _Period, listener: FlowCounters) -> None:
        """NewFlowCount and its per-protocol variants: the flows the NLB listener opened since the last drain.
        The totals are kept as read, so the flows open at a period's start are those tallied as new before it."""
        closed = dict(listener.closed)  # (read before ``opened``: a flow closes only once it was opened)
        opened = dict(listener.opened)
        seen = self._seen_flows.get(listener)
        self._seen_flows[listener] = (opened, closed)
        if seen is not None and opened == seen[0]:
            return
        counts = period.tally(listener.load_balancer_arn, NO_GROUP).counts
        for protocol, total in opened.items():
            grown = total - (seen[0][protocol] if seen is not None else 0)
            if grown:
                counts["NewFlowCount"] += grown
                counts[f"NewFlowCount_{protocol}"] += grown

    @staticmethod
    def _flow(period: _Period, record: FlowRecord) -> None:
        """What a flow's record adds up to when it ends: its bytes, and who reset it."""
        counts = period.tally(record.load_balancer_arn, NO_GROUP).counts
        counts["ProcessedBytes"] += record.received_bytes + record.sent_bytes
        counts["TCP_Client_Reset_Count"] += record.client_reset
        counts["TCP_Target_Reset_Count"] += record.target_reset
        counts["TCP_ELB_Reset_Count"] += record.elb_reset

    def _carry_open(self) -> None:
        """Connections and flows still open when a period starts are active in it too (ActiveConnectionCount,
        ActiveFlowCount: those, and the period's new ones)."""
        open_now: dict[str, int] = defaultdict(int)
        for listener in self._listeners:
            open_now[listener.load_balancer_arn] += listener.new_connections - listener.closed_connections
        self._open_at_start = {arn: count for arn, count in open_now.items() if count > 0}
        open_flows: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FLOW_PROTOCOLS, 0))
        for flow_listener, (opened, closed) in self._seen_flows.items():
            flows = open_flows[flow_listener.load_balancer_arn]
            for protocol, total in opened.items():
                flows[protocol] += total - closed[protocol]
        self._flows_open_at_start = {arn: flows for arn, flows in open_flows.items() if any(flows.values())}

    def _add_active(self, period: _Period) -> None:
        """ActiveConnectionCount and ActiveFlowCount (and its per-protocol variants) of the closing period."""
        for lb_arn in {*self._open_at_start, *self._flows_open_at_start,
                       *(lb for lb, group in period.tallies if group == NO_GROUP)}:
            counts = period.tally(lb_arn, NO_GROUP).counts
            active = self._open_at_start.get(lb_arn, 0) + counts.get("NewConnectionCount", 0)
            if active:
                counts["ActiveConnectionCount"] = active
            open_flows = self._flows_open_at_start.get(lb_arn, {})
            for protocol in FLOW_PROTOCOLS:
                active_flows = open_flows.get(protocol, 0) + counts.get(f"NewFlowCount_{protocol}", 0)
                if active_flows:
                    counts[f"ActiveFlowCount_{protocol}"] = active_flows
                    counts["ActiveFlowCount"] += active_flows

    # -- closing a period -------------------------------------------------------------------------------------

    def _close(self, period: _Period) -> None:
        topology = self._topology.read()
        start = period.index * self.period_seconds
        datapoints = _Builder(topology, start)
        self._add_active(period)
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
    def _rule_evaluations(topology: Topology, period: _Period) -> dict[str, float]:
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

    def traffic(self, lb_arn: str, tg_arn: str, tally: _Tally) -> None:
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
