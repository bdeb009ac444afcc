"""ALB access log entries, exactly as AWS writes them.

"Access logs for your Application Load Balancer", "Access log entries"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html): one line
per request, fields separated by spaces in AWS's order, the free-text ones in double quotes, ``-`` for a value
that does not apply and ``-1`` for a duration that was never measured. Times are ISO 8601 in UTC with
microseconds (``2018-07-02T22:23:00.186641Z``), durations are seconds with millisecond precision
(``0.001``). The lines parse with the regex the Athena user guide publishes ("Create the table for ALB
access logs"), which ``tests/test_access_logs.py`` checks.

The small helpers here (times, the ``elb`` resource id, quoting) are shared by the other log formats.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from math import modf

from api_models.observations import RequestRecord

NOT_APPLICABLE = "-"
# Actions after which the load balancer answers by itself (no target): AWS logs their durations as 0, not -1.
_ANSWERED_BY_LOAD_BALANCER = ("fixed-response", "redirect")


def iso_time(seconds: float) -> str:
    """``2018-07-02T22:23:00.186641Z``: ISO 8601, UTC, microseconds (AWS's ``time`` fields). (The date and time
    of day are formatted once per second: a line has two times, and a busy listener writes thousands a second.)"""
    fraction, whole = modf(seconds)  # (rounded as datetime.fromtimestamp rounds)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    return f"{_second(int(whole))}.{micro:06d}Z"


@lru_cache(maxsize=64)
def _second(whole: int) -> str:
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@lru_cache(maxsize=1024)
def resource_id(load_balancer_arn: str) -> str:
    """``app/<name>/<id>`` (or ``net/...``): the ARN's resource part after ``loadbalancer/``, AWS's ``elb``."""
    return load_balancer_arn.split(":loadbalancer/", 1)[-1]


def quoted(value: str | None) -> str:
    """A double-quoted field; AWS's format has no escape, so a quote inside the value is percent-encoded to keep
    the line parseable (an emulator choice: AWS does not document what it does)."""
    text = value if value else NOT_APPLICABLE
    return '"' + text.replace('"', "%22") + '"'


def plain(value: str | None) -> str:
    """An unquoted field: ``-`` when empty; spaces would split the field, so they are percent-encoded."""
    return value.replace(" ", "%20") if value else NOT_APPLICABLE


def duration(seconds: float) -> str:
    """Seconds with millisecond precision, ``-1`` when never measured."""
    return "-1" if seconds < 0 else f"{max(seconds, 0.0):.3f}"


def _processing_times(record: RequestRecord) -> str:
    """request_processing_time, target_processing_time, response_processing_time (three fields).

    AWS: request processing runs from the request's arrival until it is sent to the target, target processing
    until the target starts its response, response processing until the load balancer starts sending it on;
    each is -1 when the request never got that far (no target, or the target closed first). A response the
    load balancer produced itself (fixed-response, redirect: the last action executed) is logged with durations,
    not -1. The emulator relays a target's response head as soon as it arrives, so its response processing time
    is 0.000.
    """
    forwarded = record.forwarded_time
    if forwarded >= 0:
        request = duration(forwarded - record.request_creation_time)
        if record.response_time >= 0:
            return f"{request} {duration(record.response_time - forwarded)} 0.000"
        return f"{request} -1 -1"
    if record.actions_executed.endswith(_ANSWERED_BY_LOAD_BALANCER) and record.end_time >= 0:
        return f"{duration(record.end_time - record.request_creation_time)} 0.000 0.000"
    return "-1 -1 -1"


def format_request(record: RequestRecord) -> str:
    """One ALB access log entry (no trailing newline): one f-string, its fields in AWS's order. Free text a
    client controls goes through ``quoted``; the load balancer's own values (action names, ARNs, codes) are
    quoted as they are."""
    end = record.end_time if record.end_time >= 0 else record.request_creation_time
    target = f"{record.target_ip}:{record.target_port}" if record.target_ip else NOT_APPLICABLE
    target_status = NOT_APPLICABLE if record.target_status_code is None else str(record.target_status_code)
    elb_status = NOT_APPLICABLE if record.elb_status_code is None else str(record.elb_status_code)
    priority = NOT_APPLICABLE if record.matched_rule_priority is None else str(record.matched_rule_priority)
    method = record.method
    request_line = ('"- - - "' if method in ("", NOT_APPLICABLE)
                    else quoted(f"{method} {record.url} {record.protocol}"))
    return (
        f"{record.type} {iso_time(end)} {resource_id(record.load_balancer_arn)} "
        f"{record.client_ip}:{record.client_port} {target} {_processing_times(record)} "
        f"{elb_status} {target_status} {record.received_bytes} {record.sent_bytes} "
        f"{request_line} {quoted(record.user_agent)} {record.ssl_cipher or NOT_APPLICABLE} "
        f"{record.ssl_protocol or NOT_APPLICABLE} {record.target_group_arn or NOT_APPLICABLE} "
        f"{quoted(record.trace_id)} {quoted(record.domain_name)} \"{record.chosen_cert_arn or NOT_APPLICABLE}\" "
        f"{priority} {iso_time(record.request_creation_time)} \"{record.actions_executed or NOT_APPLICABLE}\" "
        f"{quoted(record.redirect_url)} \"{record.error_reason or NOT_APPLICABLE}\" \"{target}\" "
        f"\"{target_status}\" \"{record.classification or NOT_APPLICABLE}\" "
        f"\"{record.classification_reason or NOT_APPLICABLE}\" {record.conn_trace_id or NOT_APPLICABLE}"
    )
