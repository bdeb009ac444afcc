"""ALB connection log entries, as AWS writes them.

"Connection logs for your Application Load Balancer", "Connection log entries"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-connection-logs.html):
one line per client connection, written when the load balancer established it or failed to (a refused mTLS
client, for one), in this order:

    time client_ip client_port listener_port tls_protocol tls_cipher tls_handshake_latency
    "leaf_client_cert_subject" leaf_client_cert_validity leaf_client_cert_serial_number tls_verify_status
    conn_trace_id

The lines parse with the Athena user guide's regex ("Create the table for ALB connection logs"). A
connection's closing report is not logged: AWS's entry describes the establishment only.
"""

from __future__ import annotations

from api_models.observations import ConnectionRecord
from emulator.observability.access_log import NOT_APPLICABLE, iso_time, plain, quoted


def is_logged(record: ConnectionRecord) -> bool:
    """The establishment (or refusal) of a connection; its closing report repeats it."""
    return not record.closed


def format_connection(record: ConnectionRecord) -> str:
    """One ALB connection log entry (no trailing newline)."""
    latency = record.tls_handshake_latency
    return " ".join((
        iso_time(record.time),
        record.client_ip,
        str(record.client_port),
        str(record.listener_port),
        plain(record.tls_protocol),
        plain(record.tls_cipher),
        NOT_APPLICABLE if latency < 0 else f"{latency:.3f}",
        quoted(record.leaf_client_cert_subject),
        plain(record.leaf_client_cert_validity),
        plain(record.leaf_client_cert_serial_number),
        plain(record.tls_verify_status),
        plain(record.conn_trace_id),
    ))
