"""ALB access logs in S3: AWS's entry format, AWS's object keys, delivered into the emulator's S3.

"Access logs for your Application Load Balancer" (ALB user guide): entries, file names, and "Enable access
logs" (the bucket must exist). The lines are parsed with the regex of the Athena user guide's
``alb_access_logs`` table (``tests/s3_logs_support.py``).
"""

from __future__ import annotations

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from tests.alb_support import alb, forward, listener, listener_url, target_group, wait_for
from tests.backends import HttpEcho
from tests.conftest import REGION
from tests.s3_logs_support import (
    ALB_ACCESS_LOG_COLUMNS,
    ALB_ACCESS_LOG_REGEX,
    ISO_MICROSECONDS,
    delivered,
    key_pattern,
    parse,
)


@pytest.fixture
def s3(emulator_url: str):
    return boto3.client("s3", endpoint_url=emulator_url, region_name=REGION)


def _logging(bucket: str, prefix: str, kind: str = "access_logs") -> dict[str, str]:
    return {f"{kind}.s3.enabled": "true", f"{kind}.s3.bucket": bucket, f"{kind}.s3.prefix": prefix}


def test_requests_are_delivered_as_aws_access_log_entries(emulator_server, emulator_url, elbv2, s3, subnets, vpc_id):
    s3.create_bucket(Bucket="alb-logs")
    lb = alb(elbv2, subnets, "logged", attributes=_logging("alb-logs", "edge"))
    quiet = alb(elbv2, subnets, "quiet")  # no access logs: nothing of it may appear
    with HttpEcho() as backend:
        tg = target_group(elbv2, vpc_id, "logged-tg", [backend])
        arn = listener(elbv2, lb, forward(tg))
        elbv2.create_rule(ListenerArn=arn, Priority=7, Conditions=[{"Field": "path-pattern", "Values": ["/fixed"]}],
                          Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
                              "StatusCode": "418", "ContentType": "text/plain", "MessageBody": "teapot"}}])
        quiet_arn = listener(elbv2, quiet, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
        url = listener_url(emulator_url, arn)
        assert requests.get(f"{url}/hello?x=1", headers={"User-Agent": "log-test/1.0"}, timeout=5).status_code == 200
        assert requests.get(f"{url}/fixed", timeout=5).status_code == 418
        assert requests.get(f"{listener_url(emulator_url, quiet_arn)}/unlogged", timeout=5).status_code == 200

        keys, lines = delivered(emulator_server, s3, "alb-logs", key_pattern(lb, "edge"),
                                until=lambda found: len(found) >= 2)

    assert len(lines) == 2
    assert not any("/unlogged" in line for line in lines)
    assert all(key.startswith("edge/AWSLogs/") for key in keys)
    entries = {entry["request_url"].split(":", 2)[2].split("/", 1)[1]: entry
               for entry in (parse(ALB_ACCESS_LOG_REGEX, ALB_ACCESS_LOG_COLUMNS, line) for line in lines)}

    forwarded = entries["hello?x=1"]
    host, port = url.split("://")[1].rsplit(":", 1)
    assert forwarded["type"] == "http"
    assert forwarded["elb"] == lb.split(":loadbalancer/")[1]  # app/logged/<id>
    assert ISO_MICROSECONDS.fullmatch(forwarded["time"]) and ISO_MICROSECONDS.fullmatch(forwarded["request_creation_time"])
    assert forwarded["request_creation_time"] <= forwarded["time"]
    assert forwarded["client_ip"] == "127.0.0.1" and int(forwarded["client_port"]) > 0
    assert (forwarded["target_ip"], forwarded["target_port"]) == (backend.host, str(backend.port))
    assert (forwarded["elb_status_code"], forwarded["target_status_code"]) == ("200", "200")
    assert float(forwarded["request_processing_time"]) >= 0 and float(forwarded["target_processing_time"]) >= 0
    assert int(forwarded["received_bytes"]) > 0 and int(forwarded["sent_bytes"]) > 0
    assert (forwarded["request_verb"], forwarded["request_proto"]) == ("GET", "HTTP/1.1")
    assert forwarded["request_url"] == f"http://{host}:{port}/hello?x=1"
    assert forwarded["user_agent"] == "log-test/1.0"
    assert (forwarded["ssl_cipher"], forwarded["ssl_protocol"]) == ("-", "-")
    assert forwarded["target_group_arn"] == tg
    assert forwarded["trace_id"].startswith("Root=1-")
    assert forwarded["matched_rule_priority"] == "0"  # the default rule
    assert forwarded["actions_executed"] == "forward"
    assert forwarded["target_port_list"] == f"{backend.host}:{backend.port}"
    assert forwarded["target_status_code_list"] == "200"
    assert forwarded["conn_trace_id"].startswith("TID_")

    fixed = entries["fixed"]
    assert (fixed["elb_status_code"], fixed["target_status_code"]) == ("418", "-")
    assert fixed["matched_rule_priority"] == "7"
    assert fixed["actions_executed"] == "fixed-response"
    assert (fixed["target_ip"], fixed["target_group_arn"], fixed["target_port_list"]) == ("", "-", "-")


def test_access_logs_need_an_existing_bucket(elbv2, s3, subnets):
    lb = alb(elbv2, subnets, "needs-bucket")
    with pytest.raises(ClientError) as refused:
        elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
            {"Key": k, "Value": v} for k, v in _logging("no-such-bucket", "p").items()])
    assert refused.value.response["Error"]["Code"] == "InvalidConfigurationRequest"
    with pytest.raises(ClientError) as empty:
        elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"}])
    assert empty.value.response["Error"]["Code"] == "ValidationError"
    attributes = {a["Key"]: a["Value"]
                  for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb)["Attributes"]}
    assert attributes["access_logs.s3.enabled"] == "false"  # refused calls change nothing

    s3.create_bucket(Bucket="exists-now")
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
        {"Key": k, "Value": v} for k, v in _logging("exists-now", "").items()])


def test_logs_are_delivered_on_the_interval_without_a_flush(emulator_url, elbv2, s3, subnets):
    """AWS publishes every 5 minutes; ``--timing fast`` (the suite's) scales that to 3 seconds."""
    s3.create_bucket(Bucket="interval-logs")
    lb = alb(elbv2, subnets, "interval", attributes=_logging("interval-logs", ""))
    arn = listener(elbv2, lb, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    assert requests.get(f"{listener_url(emulator_url, arn)}/on-time", timeout=5).status_code == 200

    pattern = key_pattern(lb, "")
    def delivered_keys() -> list[str]:
        listed = s3.list_objects_v2(Bucket="interval-logs").get("Contents", [])
        return [entry["Key"] for entry in listed if pattern.fullmatch(entry["Key"])]

    keys = wait_for(delivered_keys, timeout=8, interval=0.2)
    assert keys[0].startswith("AWSLogs/")  # no prefix: the key starts at AWSLogs
