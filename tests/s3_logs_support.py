"""Reading the logs the emulator delivers to S3, as a user reads them: boto3 ``list_objects_v2`` and
``get_object`` on the bucket, gunzip, one entry per line. The parsing regexes are AWS's, from the Athena user
guide, so a line that matches is a line Athena can query."""

from __future__ import annotations

import gzip
import re
from typing import Any

from emulator.server import EmulatorServer
from tests.alb_support import wait_for

# Athena user guide, "Create the table for ALB access logs" (``alb_access_logs``, the statement with the
# classification, classification_reason and conn_trace_id columns),
# https://docs.aws.amazon.com/athena/latest/ug/create-alb-access-logs-table.html - the ``input.regex`` verbatim.
ALB_ACCESS_LOG_REGEX = re.compile(
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) ([-.0-9]*) (|[-0-9]*) '
    r'(-|[-0-9]*) ([-0-9]*) ([-0-9]*) \"([^ ]*) (.*) (- |[^ ]*)\" \"([^\"]*)\" ([A-Z0-9-_]+) ([A-Za-z0-9.-]*) '
    r'([^ ]*) \"([^\"]*)\" \"([^\"]*)\" \"([^\"]*)\" ([-.0-9]*) ([^ ]*) \"([^\"]*)\" \"([^\"]*)\" \"([^ ]*)\" '
    r'\"([^\s]+?)\" \"([^\s]+)\" \"([^ ]*)\" \"([^ ]*)\" ?([^ ]*)?( .*)?'
)
ALB_ACCESS_LOG_COLUMNS = (
    "type", "time", "elb", "client_ip", "client_port", "target_ip", "target_port", "request_processing_time",
    "target_processing_time", "response_processing_time", "elb_status_code", "target_status_code",
    "received_bytes", "sent_bytes", "request_verb", "request_url", "request_proto", "user_agent", "ssl_cipher",
    "ssl_protocol", "target_group_arn", "trace_id", "domain_name", "chosen_cert_arn", "matched_rule_priority",
    "request_creation_time", "actions_executed", "redirect_url", "lambda_error_reason", "target_port_list",
    "target_status_code_list", "classification", "classification_reason", "conn_trace_id",
)

# Athena user guide, "Create the table for ALB connection logs" (``alb_connection_logs``),
# https://docs.aws.amazon.com/athena/latest/ug/create-alb-connection-logs-table.html
ALB_CONNECTION_LOG_REGEX = re.compile(
    r'([^ ]*) ([^ ]*) ([0-9]*) ([0-9]*) ([A-Za-z0-9.-]*) ([^ ]*) ([-.0-9]*) \"([^\"]*)\" ([^ ]*) ([^ ]*) ([^ ]*) '
    r'?([^ ]*)?( .*)?'
)
ALB_CONNECTION_LOG_COLUMNS = (
    "time", "client_ip", "client_port", "listener_port", "tls_protocol", "tls_cipher", "tls_handshake_latency",
    "leaf_client_cert_subject", "leaf_client_cert_validity", "leaf_client_cert_serial_number", "tls_verify_status",
    "conn_trace_id",
)

# Athena user guide, "Querying Network Load Balancer logs" (``nlb_tls_logs``),
# https://docs.aws.amazon.com/athena/latest/ug/networkloadbalancer-classic-logs.html
NLB_ACCESS_LOG_REGEX = re.compile(
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*):([0-9]*) ([-.0-9]*) ([-.0-9]*) ([-0-9]*) '
    r'([-0-9]*) ([-0-9]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ?([^ ]*)?( .*)?'
)
NLB_ACCESS_LOG_COLUMNS = (
    "type", "version", "time", "elb", "listener_id", "client_ip", "client_port", "target_ip", "target_port",
    "tcp_connection_time_ms", "tls_handshake_time_ms", "received_bytes", "sent_bytes", "incoming_tls_alert",
    "cert_arn", "certificate_serial", "tls_cipher_suite", "tls_protocol_version", "tls_named_group", "domain_name",
    "alpn_fe_protocol", "alpn_be_protocol", "alpn_client_preference_list", "tls_connection_creation_time",
)

ISO_MICROSECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def parse(regex: re.Pattern[str], columns: tuple[str, ...], line: str) -> dict[str, str]:
    """The line's columns as Athena reads them; fails the test when the regex does not match the whole line."""
    match = regex.fullmatch(line)
    assert match is not None, f"not in AWS's format: {line!r}"
    assert not match.group(len(columns) + 1), f"unexpected trailing fields: {line!r}"
    return dict(zip(columns, match.groups()))


def key_pattern(load_balancer_arn: str, prefix: str, file_prefix: str = "", with_address: bool = True) -> re.Pattern[str]:
    """AWS's object key for one log file of this load balancer ("Access log files", "Connection log files",
    "Health check log files" in the ALB guide, "Access log files" in the NLB guide)."""
    region, account = load_balancer_arn.split(":")[3:5]
    lb_id = re.escape(load_balancer_arn.split(":loadbalancer/")[1].replace("/", "."))
    folder = (f"{re.escape(prefix)}/" if prefix else "") + \
        f"AWSLogs/{account}/elasticloadbalancing/{region}/\\d{{4}}/\\d{{2}}/\\d{{2}}"
    address = r"_\d+\.\d+\.\d+\.\d+" if with_address else ""
    return re.compile(f"{folder}/{re.escape(file_prefix)}{account}_elasticloadbalancing_{region}_{lb_id}"
                      f"_\\d{{8}}T\\d{{4}}Z{address}_[a-z0-9]{{8}}\\.log\\.gz")


def delivered(server: EmulatorServer, s3: Any, bucket: str, pattern: re.Pattern[str],
              until: Any = bool, timeout: float = 8.0) -> tuple[list[str], list[str]]:
    """(keys, lines) of the log objects in ``bucket`` whose keys match ``pattern``, once ``until(lines)``:
    flushes the emulator's observations first, as a test cannot wait 5 minutes for AWS's interval."""
    def read() -> tuple[list[str], list[str]] | None:
        assert server.observations is not None
        server.observations.flush()
        listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        keys = [entry["Key"] for entry in listed if pattern.fullmatch(entry["Key"])]
        lines = [line for key in keys
                 for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines()]
        return (keys, lines) if until(lines) else None

    return wait_for(read, timeout=timeout, interval=0.1)
