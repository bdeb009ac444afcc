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

from api_models.observations import RequestRecord

NOT_APPLICABLE = "-"
# Actions after which the load balancer answers by itself (no target): AWS logs their durations as 0, not -1.
_ANSWERED_BY_LOAD_BALANCER = {"fixed-response", "redirect"}


def iso_time(seconds: float) -> str:
    """``2018-07-02T22:23:00.186641Z``: ISO 8601, UTC, microseconds (AWS's ``time`` fields)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def _status(code: int | None) -> str:
    return NOT_APPLICABLE if code is None else str(code)


def _endpoint(ip: str | None, port: int) -> str:
    return f"{ip}:{port}" if ip else NOT_APPLICABLE


def _processing_times(record: RequestRecord) -> tuple[str, str, str]:
    """request_processing_time, target_processing_time, response_processing_time.

    AWS: request processing runs from the request's arrival until it is sent to the target, target processing
    until the target starts its response, response processing until the load balancer starts sending it on;
    each is -1 when the request never got that far (no target, or the target closed first). A response the
    load balancer produced itself (fixed-response, redirect) is logged with durations, not -1. The emulator
    relays a target's response head as soon as it arrives, so its response processing time is 0.000.
    """
    if record.forwarded_time >= 0:
        request = duration(record.forwarded_time - record.request_creation_time)
        if record.response_time >= 0:
            return request, duration(record.response_time - record.forwarded_time), duration(0.0)
        return request, "-1", "-1"
    if _ANSWERED_BY_LOAD_BALANCER.intersection(record.actions_executed.split(",")) and record.end_time >= 0:
        return duration(record.end_time - record.request_creation_time), duration(0.0), duration(0.0)
    return "-1", "-1", "-1"


def _request_line(record: RequestRecord) -> str:
    """``"GET http://host:80/path?query HTTP/1.1"``; ``"- - - "`` when the client sent no complete request."""
    if record.method in ("", NOT_APPLICABLE):
        return '"- - - "'
    return quoted(f"{record.method} {record.url} {record.protocol}")


def format_request(record: RequestRecord) -> str:
    """One ALB access log entry (no trailing newline)."""
    request_time, target_time, response_time = _processing_times(record)
    end = record.end_time if record.end_time >= 0 else record.request_creation_time
    target = _endpoint(record.target_ip, record.target_port)
    priority = NOT_APPLICABLE if record.matched_rule_priority is None else str(record.matched_rule_priority)
    return " ".join((
        record.type,
        iso_time(end),
        resource_id(record.load_balancer_arn),
        f"{record.client_ip}:{record.client_port}",
        target,
        request_time,
        target_time,
        response_time,
        _status(record.elb_status_code),
        _status(record.target_status_code),
        str(record.received_bytes),
        str(record.sent_bytes),
        _request_line(record),
        quoted(record.user_agent),
        plain(record.ssl_cipher),
        plain(record.ssl_protocol),
        plain(record.target_group_arn),
        quoted(record.trace_id),
        quoted(record.domain_name),
        quoted(record.chosen_cert_arn),
        priority,
        iso_time(record.request_creation_time),
        quoted(record.actions_executed),
        quoted(record.redirect_url),
        quoted(record.error_reason),
        quoted(target),
        quoted(_status(record.target_status_code)),
        quoted(record.classification),
        quoted(record.classification_reason),
        plain(record.conn_trace_id),
    ))
