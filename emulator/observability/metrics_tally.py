"""Tallying for ``metrics``: what the data plane's running totals grew by, and what its flow records add up to,
into the open period's per (load balancer, target group) tallies.

The totals only grow (``ListenerCounters`` per ALB listener and target group, ``FlowCounters`` per NLB listener),
so each drain tallies their growth since the last one, keeping what it read. Connections and flows open when a
period starts (new before it, not closed yet) are active in it too: ActiveConnectionCount and ActiveFlowCount
are those plus the period's new ones. TargetResponseTime's samples are tallied one drain late (the loop may
still be appending to the list it hands over), except at ``flush``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from api_models.observations import FLOW_PROTOCOLS, NO_GROUP, FlowCounters, FlowRecord, GroupCounters, ListenerCounters
from emulator.observability.hub import Batch
from emulator.observability.metrics_statistic import Statistic


@dataclass(slots=True)
class Tally:
    """What one load balancer's traffic to one target group (or to none) added up to in one period."""

    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    response_time: Statistic = field(default_factory=lambda: Statistic(samples=[]))


@dataclass(slots=True)
class Period:
    index: int
    tallies: dict[tuple[str, str], Tally] = field(default_factory=dict)  # (LB ARN, TG ARN or NO_GROUP)
    # (LB ARN, listener ARN, priority of the matched rule) -> requests
    rule_matches: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def tally(self, load_balancer_arn: str, target_group_arn: str) -> Tally:
        key = (load_balancer_arn, target_group_arn)
        found = self.tallies.get(key)
        if found is None:
            found = self.tallies[key] = Tally()
        return found


@dataclass(slots=True)
class _Seen:
    """What the tallier has already tallied of one ``GroupCounters``."""

    requests: int = 0
    target_statuses: dict[int, int] = field(default_factory=dict)
    elb_statuses: dict[int, int] = field(default_factory=dict)
    fixed_responses: int = 0
    redirects: int = 0
    processed_bytes: int = 0
    target_connection_errors: int = 0
    response_times: list[float] = field(default_factory=list)  # replaced at the last drain, tallied at the next


# Metric names by status class (code // 100) and exact code: looked up per status a drain tallies.
_TARGET_CODE_METRICS = {n: f"HTTPCode_Target_{n}XX_Count" for n in range(1, 6)}
_ELB_CODE_METRICS = {n: f"HTTPCode_ELB_{n}XX_Count" for n in range(3, 6)}  # AWS has no HTTPCode_ELB_2XX_Count
_ELB_EXACT_METRICS = {code: f"HTTPCode_ELB_{code}_Count" for code in (500, 502, 503, 504)}


class Tallier:
    """Reads each drain's totals and records into the open ``Period``; keeps what it has tallied so far."""

    def __init__(self) -> None:
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

    def take(self, period: Period, batch: Batch) -> None:
        self._listeners = batch.counters
        self._harvest(period, batch.counters)
        for flow_listener in batch.flow_counters:
            self._tally_flows(period, flow_listener)
        for flow in batch.flows:
            self._flow(period, flow)
        # (health checks are excluded from AWS's metrics)

    def flush(self, period: Period) -> None:
        """The last batch's totals again, with their response times (``MetricsAggregator.flush``)."""
        self._harvest(period, self._listeners, final=True)

    def _harvest(self, period: Period, listeners: list[ListenerCounters], final: bool = False) -> None:
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
    def _tally_group(tally: Tally, counted: bool, group: GroupCounters, seen: _Seen, final: bool) -> None:
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

    def _tally_connections(self, period: Period, listener: ListenerCounters) -> None:
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

    def _tally_flows(self, period: Period, listener: FlowCounters) -> None:
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
    def _flow(period: Period, record: FlowRecord) -> None:
        """What a flow's record adds up to when it ends: its bytes, and who reset it."""
        counts = period.tally(record.load_balancer_arn, NO_GROUP).counts
        counts["ProcessedBytes"] += record.received_bytes + record.sent_bytes
        counts["TCP_Client_Reset_Count"] += record.client_reset
        counts["TCP_Target_Reset_Count"] += record.target_reset
        counts["TCP_ELB_Reset_Count"] += record.elb_reset

    def carry_open(self) -> None:
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

    def add_active(self, period: Period) -> None:
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

