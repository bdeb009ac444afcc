"""WAF log records ("Log fields for protection pack (web ACL) traffic" in the AWS WAF developer guide), one JSON
line per request on the ``elbv2_emulator.waf`` logger, for web ACLs that have a logging configuration
(PutLoggingConfiguration). The log destination (Firehose, S3, CloudWatch Logs) receives nothing: the records go
to the emulator's log only; RedactedFields and LoggingFilter are not applied.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from emulator.dataplane.alb.request import Request

log = logging.getLogger("elbv2_emulator.waf")


def write_record(acl_arn: str, request: Request, action: str, terminating: str, rule_type: str,
                 counted: list[str], labels: list[str], source_id: str) -> None:
    record: dict[str, Any] = {
        "timestamp": int(time.time() * 1000),
        "formatVersion": 1,
        "webaclId": acl_arn,
        "terminatingRuleId": terminating,
        "terminatingRuleType": rule_type,
        "action": action,
        "terminatingRuleMatchDetails": [],
        "httpSourceName": "ALB",
        "httpSourceId": source_id,
        "ruleGroupList": [],
        "rateBasedRuleList": [],
        "nonTerminatingMatchingRules": [{"ruleId": name, "action": "COUNT"} for name in counted],
        "requestHeadersInserted": None,
        "responseCodeSent": None,
        "httpRequest": {
            "clientIp": request.peer,
            "country": "-",
            "headers": [{"name": name.decode("latin-1"), "value": value.decode("latin-1")}
                        for name, value in request.headers],
            "uri": request.path,
            "args": request.query,
            "httpVersion": "HTTP/2.0" if request.http2 else "HTTP/1.1",
            "httpMethod": request.method,
            "requestId": str(uuid.uuid4()),
        },
        "labels": [{"name": label} for label in labels],
    }
    log.info("%s", json.dumps(record, separators=(",", ":")))
