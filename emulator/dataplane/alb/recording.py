"""Filling in an ALB request's ``api_models.observations.RequestRecord`` and reporting it to the observer.

A listener has a ``Recording`` only when traffic is observed (``Collaborators.observer``); without one no
record is made and none of this runs. With one, the client leg starts a record when a request's head begins
(``begin``), the chain fills in what it decides (``describe``, ``forwarded``, ``answered`` and the stages'
``actions_executed``), the legs add bytes and the target's response head, and ``Exchange.release`` (the one
place every exchange ends: answered, failed, or abandoned by its client) reports it once (``report``).

Reporting counts the request into the listener's ``ListenerCounters`` (the metrics' source) and hands the
record over only when it is wanted (``api_models.observations``): always when the load balancer writes access
logs or the observer wants every request, else within the sample budget the observer gives the listener
every second (``ListenerCounters.sample_budget``), for the dashboard's recent requests. Only records handed
over get what nothing but logs show (times of arrival and end, connection and TLS facts, the request line
and user agent, the target's address, the trace id): a counted-only request costs its record and its counts.

The values are raw (wall-clock floats, ints, the strings already at hand); formatting them as AWS's log lines
is the consumers' business. Field meanings: "Access log entries" in "Access logs for your Application Load
Balancer" (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html).
"""

from __future__ import annotations

from random import getrandbits
from time import time
from typing import Protocol

from api_models.observations import ConnectionRecord, CountedRequest, GroupCounters, Observer, RequestRecord
from emulator.dataplane.alb.heads import UpstreamRequest
from emulator.dataplane.alb.request import Request
from emulator.dataplane.selection.forward import Selection
from emulator.dataplane.tls.termination import TlsSession

ABANDONED = 460  # AWS: "the client closed the connection with the load balancer before the idle timeout"


class ConnectionFacts(Protocol):
    """What a request's record takes from its client connection (``client_records.Observed``)."""

    @property
    def record(self) -> ConnectionRecord | None: ...  # None: the connection is only counted
    @property
    def session(self) -> TlsSession | None: ...


def conn_trace_id() -> str:
    """A connection's traceability id, shared by its connection-log entry and its requests' access-log entries
    (AWS shows them as ``TID_`` and 32 hex digits)."""
    return f"TID_{getrandbits(128):032x}"


class Recording:
    """What every record of one listener configuration shares, where the records go, and the listener's
    counters."""

    __slots__ = ("observer", "load_balancer_arn", "listener_arn", "scheme", "port", "tls", "counters", "groups",
                 "every_request", "connection_records", "connection_traces")

    def __init__(self, observer: Observer, load_balancer_arn: str, listener_arn: str, protocol: str,
                 port: int, access_logs: bool, connection_logs: bool = False) -> None:
        """``access_logs``, ``connection_logs``: the load balancer writes them (every record of their kind is
        wanted; connections get their traceability id, which access logs show too)."""
        self.observer = observer
        self.load_balancer_arn = load_balancer_arn
        self.listener_arn = listener_arn
        self.tls = protocol == "HTTPS"
        self.scheme = "https" if self.tls else "http"
        self.port = port
        self.counters = observer.counters(load_balancer_arn, listener_arn)
        self.groups = self.counters.groups
        self.every_request = access_logs or observer.every_request
        self.connection_records = connection_logs or observer.every_request  # handed over
        self.connection_traces = self.connection_records or self.every_request  # made (client_records.opened)

    def begin(self, request: Request, connection: ConnectionFacts | None) -> RequestRecord:
        """The request's head began (its first byte arrived) on ``connection``: its record starts here."""
        if not self.every_request:
            counters = self.counters
            if counters.sample_budget <= 0:
                return CountedRequest()
            counters.sample_budget -= 1
        record = RequestRecord(self.load_balancer_arn, self.listener_arn, self.scheme, request.peer,
                               request.peer_port, time())
        if connection is not None and connection.record is not None:
            record.conn_trace_id = connection.record.conn_trace_id
            session = connection.session
            if session is not None:
                record.ssl_cipher, record.ssl_protocol = session.cipher, session.protocol
                record.domain_name, record.chosen_cert_arn = session.server_name, session.certificate_arn
        return record

    def describe(self, record: RequestRecord, request: Request, http10: bool, upgrade: bytes | None) -> None:
        """The chain starts on a complete head (of a record that is handed over): the request line as AWS logs
        it, and the user agent (before the rules' transforms rewrite anything)."""
        record.method = request.method
        url = request.url.decode("latin-1")
        if url[:1] == "/":
            url = f"{self.scheme}://{request.host_name}:{self.port}{url}"
        record.url = url
        if request.http2:
            record.protocol, record.type = "HTTP/2.0", "h2"
        else:
            record.protocol = "HTTP/1.0" if http10 else "HTTP/1.1"
            if upgrade is not None:
                record.type = "wss" if self.tls else "ws"
        for name, value in request.headers:
            if name == b"user-agent":
                record.user_agent = value.decode("latin-1")
                break

    def report(self, record: RequestRecord) -> None:
        """The exchange ended: answered, or abandoned by its client before an answer (AWS logs 460). (Run at
        every request: each line here is a cost the data plane pays per request.)"""
        group = self.groups.get(record.target_group_arn)
        if group is None:
            group = self.groups[record.target_group_arn] = GroupCounters()
        group.requests += 1
        group.processed_bytes += record.received_bytes + record.sent_bytes
        code = record.target_status_code
        if code is not None:  # the target answered: forwarded, then its response head arrived
            group.target_statuses[code] += 1
            group.response_times.append(record.response_time - record.forwarded_time)
        else:
            self._lb_answered(group, record)
        if record.matched_rule_priority is not None:
            self.counters.rule_matches[record.matched_rule_priority] += 1
        if record.wanted:
            record.end_time = time()
            self.observer.request(record)

    @staticmethod
    def _lb_answered(group: GroupCounters, record: RequestRecord) -> None:
        """A request the load balancer answered itself (or that its client abandoned)."""
        if record.elb_status_code is None:
            record.elb_status_code = ABANDONED
        group.elb_statuses[record.elb_status_code] += 1
        if record.target_connection_failed:
            group.target_connection_errors += 1
        elif record.actions_executed.endswith("fixed-response"):
            group.fixed_responses += 1
        elif record.actions_executed.endswith("redirect"):
            group.redirects += 1


def forwarded(record: RequestRecord, selection: Selection | None, head: UpstreamRequest) -> None:
    """The chain decided to forward a request whose record is handed over: the target and the trace id it
    receives, and gRPC's type (the target group itself is recorded by ``TargetSelection``, for every record)."""
    if selection is not None and record.type == "h2" and selection.group.group.ProtocolVersion == "GRPC":
        record.type = "grpcs"
    record.target_ip, record.target_port = head.key[0], head.key[1]
    record.trace_id = head.trace_id.decode("latin-1")
