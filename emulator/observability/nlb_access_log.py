"""NLB access log entries, as AWS writes them.

"Access logs for your Network Load Balancer"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-access-logs.html): AWS writes
them only for TLS listeners, one line per TLS connection, in this order:

    type version time elb listener client:port destination:port connection_time tls_handshake_time
    received_bytes sent_bytes incoming_tls_alert chosen_cert_arn chosen_cert_serial tls_cipher
    tls_protocol_version tls_named_group domain_name alpn_fe_protocol alpn_be_protocol
    alpn_client_preference_list tls_connection_creation_time

``type`` is ``tls``, ``version`` ``2.0``; times are ISO 8601 to the second; durations are milliseconds.
The columns are those of the Athena user guide's ``nlb_tls_logs`` table ("Querying Network Load Balancer
logs"). ``format_flow`` also renders TCP and UDP flows in the same shape (type ``tcp``/``udp``, TLS fields
``-``) for ``--log-requests``; S3 delivery only writes TLS flows, as AWS does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from api_models.observations import FlowRecord
from emulator.observability.access_log import NOT_APPLICABLE, plain, resource_id

LOG_VERSION = "2.0"


def _second_time(seconds: float) -> str:
    """``2018-12-20T02:59:40``: the NLB log's time format (no fraction, no zone letter)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _milliseconds(seconds: float) -> str:
    return NOT_APPLICABLE if seconds < 0 else str(round(seconds * 1000))


def _protocol_version(name: str) -> str:
    """``TLSv1.2`` (Python's name) -> ``tlsv12`` (AWS's spelling in this log)."""
    return NOT_APPLICABLE if name in ("", NOT_APPLICABLE) else name.lower().replace(".", "")


def listener_id(listener_arn: str) -> str:
    """The listener's id, the last segment of its ARN (AWS's ``listener`` field)."""
    return listener_arn.rsplit("/", 1)[-1]


def format_flow(record: FlowRecord) -> str:
    """One NLB access log entry (no trailing newline)."""
    end = record.end_time if record.end_time >= 0 else record.start_time
    target = f"{record.target_ip}:{record.target_port}" if record.target_ip else NOT_APPLICABLE
    return " ".join((
        "tls" if record.protocol == "TLS" else record.protocol.lower(),
        LOG_VERSION,
        _second_time(end),
        resource_id(record.load_balancer_arn),
        listener_id(record.listener_arn),
        f"{record.client_ip}:{record.client_port}",
        target,
        _milliseconds(end - record.start_time),
        _milliseconds(record.tls_handshake_time),
        str(record.received_bytes),
        str(record.sent_bytes),
        plain(record.incoming_tls_alert),
        plain(record.chosen_cert_arn),
        NOT_APPLICABLE,  # chosen_cert_serial: the emulator does not report it
        plain(record.tls_cipher),
        _protocol_version(record.tls_protocol_version),
        NOT_APPLICABLE,  # tls_named_group: Python's ssl module does not expose the negotiated group
        plain(record.domain_name),
        plain(record.alpn_fe_protocol),
        plain(record.alpn_be_protocol),
        NOT_APPLICABLE,  # alpn_client_preference_list: not reported by the data plane
        _second_time(record.start_time),
    ))
