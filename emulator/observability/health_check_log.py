"""ALB health check log entries.

"Health check logs for your Application Load Balancer", "Health check log entries"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-health-check-logs.html):
one line per health check of one target, with the fields AWS lists for an entry (the record fields of its
CloudFormation schema, ``AlbHealthCheckLogsRecordFields``: type, time, latency, target address, target group
id, status, status code, reason code), in this order:

    type time latency target_addr target_group_id status status_code reason_code

``type`` is the check's protocol in lower case (``http``, ``https``, ``tcp``, ``grpc``), ``status`` is
``PASS`` or ``FAIL``, ``latency`` is seconds with millisecond precision (``-1`` when the check timed out),
and a field that does not apply is ``-``. The entry's exact field order is the emulator's reading of the page
(this feature dates from November 2025); the values are AWS's.
"""

from __future__ import annotations

from api_models.observations import HealthCheckRecord
from emulator.observability.access_log import NOT_APPLICABLE, duration, iso_time, plain


def target_group_id(target_group_arn: str) -> str:
    """The id at the end of a target group ARN (``targetgroup/<name>/<id>``)."""
    return target_group_arn.rsplit("/", 1)[-1]


def format_health_check(record: HealthCheckRecord) -> str:
    """One health check log entry (no trailing newline)."""
    return " ".join((
        record.protocol.lower(),
        iso_time(record.time),
        duration(record.latency),
        f"{record.target_ip}:{record.target_port}",
        target_group_id(record.target_group_arn),
        "PASS" if record.healthy else "FAIL",
        NOT_APPLICABLE if record.status_code is None else str(record.status_code),
        plain(record.reason),
    ))
