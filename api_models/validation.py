"""Rules AWS applies to names and health checks beyond what the wire model constrains (API Reference:
CreateLoadBalancer ``Name``, CreateTargetGroup and its health-check members).

Messages are AWS's own where they have been observed (moto's ``aws_verified`` tests); the rest are
marked ``# wording inferred`` (see ``emulator.errors``) and follow the same style.
"""

from __future__ import annotations

import re
from typing import Any

from emulator.errors import AwsError, validation_error

_NAME_CHARS = re.compile(r"^[A-Za-z0-9-]+$")
_TG_NAME_PATTERN = r"(?!.*--)(?!^-)(?!.*-$)^[A-Za-z0-9-]+$"
_MATCHER_CODES = re.compile(r"^\d{1,3}(-\d{1,3})?(,\d{1,3}(-\d{1,3})?)*$")

HTTP_PROTOCOLS = ("HTTP", "HTTPS")
GENEVE_PORT = 6081  # the only port of a GENEVE target group (API reference, CreateTargetGroup Port)
# CreateTargetGroup HealthCheckProtocol: "The GENEVE, TLS, UDP, TCP_UDP, QUIC, and TCP_QUIC protocols are
# not supported for health checks."
_HEALTH_CHECK_PROTOCOLS = ("HTTP", "HTTPS", "TCP")


def validate_load_balancer_name(name: str) -> None:
    """1-32 of [A-Za-z0-9-], no leading/trailing '-', not 'internal-…' (message wording inferred, TG style)."""
    if len(name) > 32:
        raise validation_error(f"Load balancer name '{name}' cannot be longer than '32' characters")
    if not _NAME_CHARS.match(name):
        raise validation_error(
            f"Load balancer name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )
    if name.startswith("-") or name.endswith("-"):
        raise validation_error(f"Load balancer name '{name}' cannot begin or end with '-'")
    if name.startswith("internal-"):
        raise validation_error(f"Load balancer name '{name}' cannot begin with 'internal-'")


def validate_target_group_name(name: str) -> None:
    """Observed AWS messages, in AWS's order of checks (moto aws_verified tests)."""
    if len(name) > 32:
        raise validation_error(f"Target group name '{name}' cannot be longer than '32' characters")
    if not _NAME_CHARS.match(name):
        raise validation_error(
            f"Target group name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )
    if not re.match(_TG_NAME_PATTERN, name):
        raise validation_error(
            f"1 validation error detected: Value '{name}' at 'targetGroup.targetGroupArn.targetGroupName' "
            f"failed to satisfy constraint: Member must satisfy regular expression pattern: {_TG_NAME_PATTERN}"
        )


def health_check_defaults(
    protocol: str | None, protocol_version: str | None, target_type: str, hc_protocol: str | None
) -> dict[str, Any]:
    """The health-check members CreateTargetGroup echoes when the caller gives none (API Reference,
    CreateTargetGroup: each member's default)."""
    if target_type == "lambda":
        return {
            "HealthCheckEnabled": False, "HealthCheckPath": "/", "HealthCheckIntervalSeconds": 35,
            "HealthCheckTimeoutSeconds": 30, "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 5,
            "Matcher": {"HttpCode": "200"},
        }
    common = {"HealthCheckEnabled": True, "HealthCheckPort": "traffic-port", "HealthCheckIntervalSeconds": 30,
              "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 2}
    if protocol in HTTP_PROTOCOLS:  # an ALB target group
        grpc = protocol_version == "GRPC"
        return common | {
            "HealthCheckProtocol": hc_protocol or protocol, "HealthCheckTimeoutSeconds": 5,
            "HealthCheckPath": "/AWS.ALB/healthcheck" if grpc else "/",
            "Matcher": {"GrpcCode": "12"} if grpc else {"HttpCode": "200"},
        }
    if protocol == "GENEVE":
        return _geneve_health_check_defaults(common, hc_protocol)
    if target_type == "alb":
        hc_protocol = hc_protocol or "HTTP"
    checks_http = hc_protocol in HTTP_PROTOCOLS
    defaults = common | {"HealthCheckProtocol": hc_protocol or "TCP", "HealthCheckTimeoutSeconds": 6 if checks_http else 10}
    if checks_http:
        defaults |= {"HealthCheckPath": "/", "Matcher": {"HttpCode": "200-399"}}
    return defaults


def _geneve_health_check_defaults(common: dict[str, Any], hc_protocol: str | None) -> dict[str, Any]:
    """TCP on port 80 every 10 s, timeout 5 s (observed: AWS CLI create-target-group --protocol GENEVE; the botocore model documents it).
    Thresholds 5/2 follow the current model docs (a 2020 CLI example showed 3/3)."""
    defaults = common | {
        "HealthCheckProtocol": hc_protocol or "TCP", "HealthCheckPort": "80",
        "HealthCheckIntervalSeconds": 10, "HealthCheckTimeoutSeconds": 5,
    }
    if hc_protocol in HTTP_PROTOCOLS:
        defaults |= {"HealthCheckPath": "/", "Matcher": {"HttpCode": "200-399"}}
    return defaults


def validate_health_check(protocol: str | None, target_type: str, settings: dict[str, Any]) -> None:
    """Cross-field rules on a TG's complete health-check settings (ranges are checked by the wire model)."""
    alb_tg = protocol in HTTP_PROTOCOLS
    if not settings["HealthCheckEnabled"] and target_type != "lambda":
        raise validation_error(
            f"Health check enabled must be true for target groups with target type '{target_type}'"
        )  # wording inferred
    hc_protocol = settings.get("HealthCheckProtocol")
    if hc_protocol is not None and hc_protocol not in _HEALTH_CHECK_PROTOCOLS:
        raise validation_error(f"Health check protocol '{hc_protocol}' is not supported")  # wording inferred
    if alb_tg and hc_protocol not in HTTP_PROTOCOLS and target_type != "lambda":
        raise validation_error(
            f"Health check protocol '{hc_protocol}' is not supported for target groups with the {protocol} protocol"
        )  # wording inferred
    _validate_port(settings.get("HealthCheckPort"))
    _validate_timeout(alb_tg or target_type == "lambda", settings)
    _validate_matcher(_matcher_range(protocol, target_type), settings.get("Matcher"))


def _matcher_range(protocol: str | None, target_type: str) -> tuple[int, int]:
    """API reference, CreateTargetGroup Matcher: HTTP(S) 200-499, GENEVE 200-399, the TCP family 200-599."""
    if protocol in HTTP_PROTOCOLS or target_type == "lambda":
        return 200, 499
    return (200, 399) if protocol == "GENEVE" else (200, 599)


def _validate_port(port: str | None) -> None:
    if port is None or port == "traffic-port":
        return
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise validation_error(f"Health check port '{port}' must be 'traffic-port' or an integer between '1-65535' inclusive")  # wording inferred


def _validate_timeout(strict: bool, settings: dict[str, Any]) -> None:
    # HTTP(S) target groups need timeout < interval; TCP-family ones allow timeout == interval.
    timeout, interval = settings["HealthCheckTimeoutSeconds"], settings["HealthCheckIntervalSeconds"]
    if strict and timeout >= interval:
        raise validation_error(f"Health check timeout '{timeout}' must be smaller than the interval '{interval}'")
    if timeout > interval:
        raise validation_error(
            f"Health check timeout '{timeout}' must be smaller than or equal to the interval '{interval}'"
        )


def _validate_matcher(bounds: tuple[int, int], matcher: dict[str, str] | None) -> None:
    code = (matcher or {}).get("HttpCode")
    if code is None:
        return
    if not _MATCHER_CODES.match(code):
        raise AwsError("InvalidParameterValue", "HttpCode must be like 200 | 200-399 | 200,201 ...")
    low, high = bounds
    for number in re.findall(r"\d+", code):
        if not low <= int(number) <= high:
            raise validation_error(f"Health check matcher HTTP code '{number}' must be within '{low}-{high}' inclusive")  # wording inferred
