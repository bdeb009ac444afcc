"""What the data planes report about the traffic they carry, and the ``Observer`` they report it to.

The data plane fills in one record per ALB request, NLB flow, client connection and health check, and hands
it to an ``Observer`` (``emulator.observability`` fans it out to access logs in S3, CloudWatch metrics, the
dashboard and ``--log-requests``). The records carry what AWS's log formats need, as plain values, so their
consumers need nothing from the data plane:

- ALB access log entries ("Access logs for your Application Load Balancer", "Access log entries"):
  ``RequestRecord``;
- NLB access logs, written for TLS listeners ("Access logs for your Network Load Balancer"): ``FlowRecord``
  (every TCP/TLS/UDP flow is reported when it ends: CloudWatch's ProcessedBytes and reset counts add them up);
- ALB connection logs ("Connection logs for your Application Load Balancer") and the connection metrics:
  ``ConnectionRecord``;
- health-check logs ("Health check logs for your Application Load Balancer"): ``HealthCheckRecord``.

ALB requests and client connections are counted, and only some are handed over as records. Each adds to its
listener's ``ListenerCounters`` on the loop (CloudWatch's ALB metrics and the dashboard's rates are derived
from those totals). A request's ``RequestRecord`` is handed to the observer when something needs each request
(the load balancer's access logs are on, or ``Observer.every_request``), else within the listener's sample
budget (``ListenerCounters.sample_budget``: the dashboard's recent requests); a connection's
``ConnectionRecord``s when its load balancer writes connection logs, or with ``every_request``. At tens of
thousands of requests a second, a Python object per request for another thread to read would cost the data
plane a third of its throughput; counting costs it a few percent. NLB flows are counted too, as they start and
as they end (``FlowCounters``): a flow's record comes only at its end, and CloudWatch counts a flow in every
period it is open.

Times are wall-clock seconds (``time.time()``); a duration AWS logs as ``-1`` is ``-1.0`` here, a field it
logs as ``-`` is ``None`` or the empty string. The observer is called on the data plane's event loop, so it
must return at once: implementations queue what they get and do their work elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol


class RequestRecord:
    """One ALB request, answered or not. Filled in as the request goes through the chain and its legs.

    A plain class rather than a slotted dataclass: every field has a class-level default, so a record sets only
    what its request came to know (an instance dict of a dozen keys), where a dataclass assigns all 36 fields in
    its ``__init__``. That made up a third of what counting a request cost the data plane."""

    load_balancer_arn: str = "-"
    listener_arn: str = "-"
    type: str = "http"  # http | https | h2 | grpcs | ws | wss
    client_ip: str = "-"
    client_port: int = 0
    request_creation_time: float = -1.0  # when the request's first byte arrived
    method: str = "-"
    url: str = "-"  # the request line's URL as AWS logs it: scheme://host:port/path?query
    protocol: str = "-"  # HTTP/1.0 | HTTP/1.1 | HTTP/2.0
    user_agent: str = "-"
    ssl_cipher: str = "-"
    ssl_protocol: str = "-"
    domain_name: str = "-"  # the TLS SNI the client sent
    chosen_cert_arn: str = "-"
    trace_id: str = "-"  # the X-Amzn-Trace-Id the target received ("Root=...")
    matched_rule_priority: int | None = None  # 0 for the default rule; None when no rule was evaluated
    # AWS's names (waf, authenticate, forward, ...), comma-separated as logged: a string, so that a record holds
    # no container (one less object per request for the garbage collector to track)
    actions_executed: str = ""
    redirect_url: str = "-"
    error_reason: str = "-"  # AWS's error-reason codes, e.g. TargetConnectionErrorCode, LambdaInvalidResponse
    classification: str = "-"  # desync mitigation: Acceptable | Ambiguous | Severe ("-" when compliant)
    classification_reason: str = "-"
    target_group_arn: str = "-"
    target_ip: str | None = None
    target_port: int = 0
    forwarded_time: float = -1.0  # when the request was sent to the target (-1: never)
    response_time: float = -1.0  # when the target's response head arrived (-1: none)
    end_time: float = -1.0  # when the response's last byte was sent (or the request was abandoned)
    elb_status_code: int | None = None  # what the client got; None when it got nothing
    target_status_code: int | None = None  # what the target answered; None when it did not
    received_bytes: int = 0  # request bytes from the client (head and body)
    sent_bytes: int = 0  # response bytes to the client (head and body)
    target_connection_failed: bool = False  # no connection to the target could be made (refused, timed out)
    conn_trace_id: str = "-"  # the client connection's id, shared with its ConnectionRecord
    # False: the request is only counted (``ListenerCounters``); its record is not handed over, so what only logs
    # show (arrival and end times, connection and TLS facts, request line, user agent, target, trace id) is not
    # filled in (``CountedRequest``).
    wanted: bool = True

    def __init__(self, load_balancer_arn: str, listener_arn: str, type: str, client_ip: str, client_port: int,
                 request_creation_time: float) -> None:
        self.load_balancer_arn, self.listener_arn, self.type = load_balancer_arn, listener_arn, type
        self.client_ip, self.client_port, self.request_creation_time = client_ip, client_port, request_creation_time

    def __repr__(self) -> str:
        return f"{type(self).__name__}({vars(self)!r})"

    def executed(self, action: str) -> None:
        """``action`` ran: added to ``actions_executed``."""
        self.actions_executed = f"{self.actions_executed},{action}" if self.actions_executed else action


class CountedRequest(RequestRecord):
    """The record of a request that is only counted: it starts empty (object's ``__init__``, no Python frame)
    and gets only what the counters read."""

    wanted = False
    __init__ = object.__init__  # (no fields to set: one is made at every counted request)


@dataclass(slots=True, eq=False)
class FlowRecord:
    """One NLB flow (a TCP or TLS connection, or a UDP flow), reported when it ends (counted in ``FlowCounters``
    when it starts and ends)."""

    load_balancer_arn: str
    listener_arn: str
    protocol: str  # TCP | TLS | UDP (a TCP_UDP listener's flows are TCP or UDP; QUIC flows are UDP)
    client_ip: str
    client_port: int
    listener_port: int
    start_time: float
    end_time: float = -1.0
    target_group_arn: str = "-"
    target_ip: str | None = None
    target_port: int = 0
    received_bytes: int = 0  # from the client
    sent_bytes: int = 0  # to the client
    tls_handshake_time: float = -1.0  # seconds (TLS listeners)
    tls_protocol_version: str = "-"
    tls_cipher: str = "-"
    domain_name: str = "-"  # SNI
    chosen_cert_arn: str = "-"
    alpn_fe_protocol: str = "-"
    alpn_be_protocol: str = "-"
    incoming_tls_alert: str = "-"
    client_reset: bool = False  # the client reset the flow (TCP_Client_Reset_Count)
    target_reset: bool = False  # the target reset it (TCP_Target_Reset_Count)
    elb_reset: bool = False  # the load balancer reset it (no routable target, refused, at its cap)


@dataclass(slots=True, eq=False)
class ConnectionRecord:
    """One ALB client connection: reported when it opens (``closed`` False) and again when it closes, or once
    when it is refused (``rejected``: security groups, the connection cap, an mTLS failure)."""

    load_balancer_arn: str
    listener_arn: str
    client_ip: str
    client_port: int
    listener_port: int
    time: float
    conn_trace_id: str
    closed: bool = False
    rejected: bool = False
    tls_protocol: str = "-"
    tls_cipher: str = "-"
    tls_handshake_latency: float = -1.0
    leaf_client_cert_subject: str = "-"
    leaf_client_cert_validity: str = "-"  # notBefore=...;notAfter=...
    leaf_client_cert_serial_number: str = "-"
    tls_verify_status: str = "-"  # Success | Failed:<reason>


@dataclass(slots=True, eq=False)
class HealthCheckRecord:
    """One health-check probe of one target, with its verdict."""

    target_group_arn: str
    load_balancer_arns: tuple[str, ...]  # the load balancers whose listeners forward to the group
    target_id: str
    target_ip: str
    target_port: int
    protocol: str  # HTTP | HTTPS | TCP | gRPC ...
    time: float
    latency: float  # seconds; -1 when it timed out
    status_code: int | None  # the target's HTTP status, for HTTP(S)/gRPC checks
    healthy: bool  # this probe passed
    reason: str = "-"  # the reason code of a failed probe, e.g. Target.Timeout, Target.ResponseCodeMismatch


NO_GROUP = "-"  # the target group of a request no target group was chosen for (as access logs show it)


@dataclass(slots=True, eq=False)
class GroupCounters:
    """Running totals of one listener's requests that ended with one target group (or ``NO_GROUP``).

    Written only on the data plane's loop, as each request ends; read on the observer's thread. Totals only
    grow, so a reader takes differences between two reads. ``response_times`` (seconds from forwarding to the
    target's response head, one per answered forward) is handed over by replacing the list: the reader takes
    the list it replaced at its previous read, when no append to it can still be under way."""

    requests: int = 0
    target_statuses: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))  # status -> requests
    elb_statuses: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))  # the LB's own answers
    fixed_responses: int = 0  # requests a fixed-response action answered
    redirects: int = 0  # requests a redirect action answered
    processed_bytes: int = 0  # request and response bytes, heads included
    target_connection_errors: int = 0  # requests for which no connection to the target could be made
    response_times: list[float] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class ListenerCounters:
    """The running totals of one ALB listener's requests (see ``GroupCounters`` for who writes and reads)."""

    load_balancer_arn: str
    listener_arn: str
    groups: dict[str, GroupCounters] = field(default_factory=dict)  # target group ARN (or NO_GROUP) ->
    # matched rule's priority (0: default) -> requests
    rule_matches: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    new_connections: int = 0  # client connections admitted
    closed_connections: int = 0  # admitted client connections that have closed since
    rejected_connections: int = 0  # refused by security groups or the connection cap (not by mTLS)
    # How many more requests' records to hand over although nothing needs each one (the dashboard's sample): the
    # loop takes one per record, the observer sets it back to its rate every second.
    sample_budget: int = 0


FLOW_PROTOCOLS = ("TCP", "TLS", "UDP")  # AWS's NewFlowCount_* / ActiveFlowCount_* variants (TCP_UDP: each half's)


@dataclass(slots=True, eq=False)
class FlowCounters:
    """The running totals of one NLB listener's flows, by ``FLOW_PROTOCOLS`` (a ``FlowRecord``'s protocol).

    A flow adds one to ``opened`` when it starts and one to ``closed`` when it ends (its record is reported), so
    ``opened - closed`` are open now. Written only on the data plane's loop, read on the observer's thread; the
    keys are all there from the start, so the loop never grows a dict another thread copies."""

    load_balancer_arn: str
    listener_arn: str
    opened: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLOW_PROTOCOLS, 0))
    closed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLOW_PROTOCOLS, 0))


class Observer(Protocol):
    """Where the data planes report traffic; called on their event loop, so every method returns at once."""

    # True when every ALB request's record is wanted (e.g. a console printing each), not only those of load
    # balancers with access logs on.
    every_request: bool

    def counters(self, load_balancer_arn: str, listener_arn: str) -> ListenerCounters:
        """The ALB listener's totals: the same object for the same listener, across its configuration changes."""
        ...

    def flow_counters(self, load_balancer_arn: str, listener_arn: str) -> FlowCounters:
        """The NLB listener's flow totals, likewise the same object for the same listener."""
        ...

    def request(self, record: RequestRecord) -> None: ...

    def flow(self, record: FlowRecord) -> None: ...

    def connection(self, record: ConnectionRecord) -> None: ...

    def health_check(self, record: HealthCheckRecord) -> None: ...
