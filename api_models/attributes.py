"""Default attribute sets and validation of the values callers set (API Reference: LoadBalancerAttribute,
ListenerAttribute, TargetGroupAttribute).

Describe*Attributes returns every key of the resource's set: Terraform flattens whatever comes back, so
a missing default key would be a perpetual diff. Each key maps to a ``Spec``: its default and the values
AWS accepts. The wording of messages for rejected values is inferred unless noted
(see ``emulator.errors``).
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.errors import AwsError, validation_error


@dataclass(frozen=True, slots=True)
class Spec:
    default: str
    kind: str = "str"  # "bool" | "int" | "enum" | "str"
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()


def _bool(default: bool) -> Spec:
    return Spec("true" if default else "false", "bool")


def _int(default: int, low: int, high: int) -> Spec:
    return Spec(str(default), "int", low, high)


def _enum(default: str, *choices: str) -> Spec:
    return Spec(default, "enum", choices=(default, *choices))


_EMPTY = Spec("")


def _s3_logs(prefix: str) -> dict[str, Spec]:
    return {f"{prefix}.s3.enabled": _bool(False), f"{prefix}.s3.bucket": _EMPTY, f"{prefix}.s3.prefix": _EMPTY}


# ---- load balancers (§2.4) ----

_ALB = {
    **_s3_logs("access_logs"), **_s3_logs("health_check_logs"), **_s3_logs("connection_logs"),
    "idle_timeout.timeout_seconds": _int(60, 1, 4000),
    "deletion_protection.enabled": _bool(False),
    "routing.http2.enabled": _bool(True),
    "routing.http.drop_invalid_header_fields.enabled": _bool(False),
    "routing.http.xff_client_port.enabled": _bool(False),
    "routing.http.preserve_host_header.enabled": _bool(False),
    "routing.http.xff_header_processing.mode": _enum("append", "preserve", "remove"),
    "load_balancing.cross_zone.enabled": _enum("true"),  # fixed on for ALBs
    "routing.http.desync_mitigation_mode": _enum("defensive", "monitor", "strictest"),
    "client_keep_alive.seconds": _int(3600, 60, 604800),
    "waf.fail_open.enabled": _bool(False),
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": _bool(False),
    "routing.http.x_amzn_tls_kx.enabled": _bool(False),
    "zonal_shift.config.enabled": _bool(False),
    "ipv6.deny_all_igw_traffic": _bool(False),
}
_NLB = {
    **_s3_logs("access_logs"),
    "deletion_protection.enabled": _bool(False),
    "load_balancing.cross_zone.enabled": _bool(False),
    "ipv6.deny_all_igw_traffic": _bool(False),
    "dns_record.client_routing_policy": _enum(
        "any_availability_zone", "availability_zone_affinity", "partial_availability_zone_affinity"
    ),
    "zonal_shift.config.enabled": _bool(False),
    "secondary_ips.auto_assigned.per_subnet": _int(0, 0, 7),
}
# Gateway Load Balancers have only the two keys "supported by all load balancers" (API_LoadBalancerAttribute).
_GWLB = {
    "deletion_protection.enabled": _bool(False),
    "load_balancing.cross_zone.enabled": _bool(False),
}
_LB_SPECS = {"application": _ALB, "network": _NLB, "gateway": _GWLB}


def load_balancer_defaults(lb_type: str, scheme: str | None) -> dict[str, str]:
    """``scheme``: None for a Gateway Load Balancer, which has none."""
    defaults = _defaults(_LB_SPECS[lb_type])
    if "ipv6.deny_all_igw_traffic" in defaults:
        # Internal load balancers have no internet gateway route to deny, so AWS reports the deny as on.
        defaults["ipv6.deny_all_igw_traffic"] = "true" if scheme == "internal" else "false"
    return defaults


def validate_load_balancer_attribute(lb_type: str, key: str, value: str) -> None:
    specs = _LB_SPECS[lb_type]
    if key not in specs:
        if any(key in other for other in _LB_SPECS.values()):
            raise AwsError(
                "InvalidConfigurationRequest",
                f"Load balancer attribute key '{key}' is not supported on load balancers with type '{lb_type}'",
            )
        raise validation_error(f"Load balancer attribute key '{key}' is not recognized")
    _check_value(specs[key], key, value)


# ---- target groups (§2.5) ----

_TG_HEALTH = {
    "target_group_health.dns_failover.minimum_healthy_targets.count": Spec("1"),
    "target_group_health.dns_failover.minimum_healthy_targets.percentage": Spec("off"),
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": Spec("1"),
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": Spec("off"),
}
_TG_COMMON = {
    "deregistration_delay.timeout_seconds": _int(300, 0, 3600),
    "stickiness.enabled": _bool(False),
    "load_balancing.cross_zone.enabled": _enum("use_load_balancer_configuration", "true", "false"),
    **_TG_HEALTH,
}
_TG_ALB = {
    **_TG_COMMON,
    "stickiness.type": _enum("lb_cookie", "app_cookie"),
    "stickiness.lb_cookie.duration_seconds": _int(86400, 1, 604800),
    "stickiness.app_cookie.cookie_name": _EMPTY,
    "stickiness.app_cookie.duration_seconds": _int(86400, 1, 604800),
    "slow_start.duration_seconds": _int(0, 0, 900),
    "load_balancing.algorithm.type": _enum("round_robin", "least_outstanding_requests", "weighted_random"),
    "load_balancing.algorithm.anomaly_mitigation": _enum("off", "on"),
}
_TG_NLB = {
    **_TG_COMMON,
    "deregistration_delay.connection_termination.enabled": _bool(False),
    "stickiness.type": _enum("source_ip"),
    "proxy_protocol_v2.enabled": _bool(False),
    "preserve_client_ip.enabled": _bool(True),
    "target_health_state.unhealthy.connection_termination.enabled": _bool(True),
    "target_health_state.unhealthy.draining_interval_seconds": _int(0, 0, 360000),
}
# GENEVE (Gateway Load Balancer) groups: the keys "supported by all load balancers" plus the two
# "supported only by Gateway Load Balancers" (API_TargetGroupAttribute). stickiness.type reads
# source_ip_dest_ip_proto even while stickiness is off (5-tuple hashing) (observed in public GWLB Terraform modules).
_FAILOVER = ("no_rebalance", "rebalance")
_TG_GENEVE = {
    "deregistration_delay.timeout_seconds": _int(300, 0, 3600),
    "stickiness.enabled": _bool(False),
    "stickiness.type": _enum("source_ip_dest_ip_proto", "source_ip_dest_ip"),
    "target_failover.on_deregistration": _enum(*_FAILOVER),
    "target_failover.on_unhealthy": _enum(*_FAILOVER),
}
_TG_LAMBDA = {"lambda.multi_value_headers.enabled": _bool(False)}
_ALL_TG_KEYS = {*_TG_ALB, *_TG_NLB, *_TG_GENEVE, *_TG_LAMBDA}


def _tg_specs(protocol: str | None, target_type: str) -> dict[str, Spec]:
    if target_type == "lambda":
        return _TG_LAMBDA
    if protocol == "GENEVE":
        return _TG_GENEVE
    return _TG_ALB if protocol in ("HTTP", "HTTPS") else _TG_NLB


def target_group_defaults(protocol: str | None, target_type: str) -> dict[str, str]:
    defaults = _defaults(_tg_specs(protocol, target_type))
    if protocol in ("UDP", "TCP_UDP"):
        defaults["deregistration_delay.connection_termination.enabled"] = "true"
    if "preserve_client_ip.enabled" in defaults and target_type == "ip" and protocol in ("TCP", "TLS"):
        defaults["preserve_client_ip.enabled"] = "false"
    return defaults


def validate_target_group_attributes(protocol: str | None, target_type: str, merged: dict[str, str], changed: dict[str, str]) -> None:
    """``changed`` are the caller's keys; ``merged`` the full set after applying them (for cross-key rules)."""
    specs = _tg_specs(protocol, target_type)
    for key, value in changed.items():
        if key not in specs:
            if key in _ALL_TG_KEYS:
                raise AwsError("InvalidConfigurationRequest", "The provided target group attribute is not supported")
            raise validation_error(f"Target group attribute key '{key}' is not recognized")
        _check_value(specs[key], key, value)
    _check_target_group_combination(protocol, merged, changed)


def _check_target_group_combination(protocol: str | None, merged: dict[str, str], changed: dict[str, str]) -> None:
    if changed.get("stickiness.type") == "source_ip" and protocol in ("HTTP", "HTTPS"):
        raise AwsError(
            "InvalidConfigurationRequest",
            f"Stickiness type 'source_ip' is not supported for target groups with the {protocol} protocol",
        )
    if protocol == "TLS" and merged.get("stickiness.enabled") == "true":
        raise AwsError("InvalidConfigurationRequest", "You cannot enable stickiness on target groups with the TLS protocol")
    cookie = merged.get("stickiness.app_cookie.cookie_name", "")
    if cookie.upper().startswith("AWSALB"):  # AWSALB, AWSALBAPP and AWSALBTG are reserved
        raise validation_error(f"App cookie name '{cookie}' cannot start with reserved prefixes 'AWSALB', 'AWSALBAPP', or 'AWSALBTG'")
    sticky_app = merged.get("stickiness.enabled") == "true" and merged.get("stickiness.type") == "app_cookie"
    if sticky_app and not cookie:
        raise validation_error("You must set an application cookie name to enable stickiness of type 'app_cookie'")
    slow_start = int(merged.get("slow_start.duration_seconds", "0"))
    if 0 < slow_start < 30:
        raise validation_error(f"'slow_start.duration_seconds' value '{slow_start}' must be 0 or between '30-900' inclusive")
    if slow_start and merged.get("load_balancing.algorithm.type") == "least_outstanding_requests":
        raise AwsError(
            "InvalidConfigurationRequest",
            "Slow start duration is not supported with the 'least_outstanding_requests' load balancing algorithm",
        )
    if merged.get("target_failover.on_deregistration") != merged.get("target_failover.on_unhealthy"):
        # API_TargetGroupAttribute: "The value you set for both attributes must be the same."
        raise validation_error(
            "The values of 'target_failover.on_deregistration' and 'target_failover.on_unhealthy' must be the same"
        )  # wording inferred
    if protocol == "UDP" and changed.get("preserve_client_ip.enabled") == "false":
        raise AwsError("InvalidConfigurationRequest", "Client IP preservation cannot be disabled for UDP target groups")


# ---- listeners (§2.6) ----

REQUEST_HEADERS = {
    "x_amzn_mtls_clientcert_serial_number": "X-Amzn-Mtls-Clientcert-Serial-Number",
    "x_amzn_mtls_clientcert_issuer": "X-Amzn-Mtls-Clientcert-Issuer",
    "x_amzn_mtls_clientcert_subject": "X-Amzn-Mtls-Clientcert-Subject",
    "x_amzn_mtls_clientcert_validity": "X-Amzn-Mtls-Clientcert-Validity",
    "x_amzn_mtls_clientcert_leaf": "X-Amzn-Mtls-Clientcert-Leaf",
    "x_amzn_mtls_clientcert": "X-Amzn-Mtls-Clientcert",
    "x_amzn_tls_version": "X-Amzn-Tls-Version",
    "x_amzn_tls_cipher_suite": "X-Amzn-Tls-Cipher-Suite",
}
# Attribute fragment -> the response header it injects (AWS "HTTP header modification for your Application
# Load Balancer"); and the mTLS/TLS request headers an HTTPS listener may rename.
RESPONSE_HEADERS = {
    "strict_transport_security": "Strict-Transport-Security",
    "access_control_allow_origin": "Access-Control-Allow-Origin",
    "access_control_allow_methods": "Access-Control-Allow-Methods",
    "access_control_allow_headers": "Access-Control-Allow-Headers",
    "access_control_allow_credentials": "Access-Control-Allow-Credentials",
    "access_control_expose_headers": "Access-Control-Expose-Headers",
    "access_control_max_age": "Access-Control-Max-Age",
    "content_security_policy": "Content-Security-Policy",
    "x_content_type_options": "X-Content-Type-Options",
    "x_frame_options": "X-Frame-Options",
}
_HTTP_LISTENER = {
    "routing.http.response.server.enabled": _bool(True),
    **{f"routing.http.response.{name}.header_value": _EMPTY for name in RESPONSE_HEADERS},
}
_HTTPS_LISTENER = {
    **_HTTP_LISTENER,
    **{f"routing.http.request.{name}.header_name": Spec(header) for name, header in REQUEST_HEADERS.items()},
}
_TCP_LISTENER = {"tcp.idle_timeout.seconds": _int(350, 60, 6000)}
_LISTENER_SPECS = {"HTTP": _HTTP_LISTENER, "HTTPS": _HTTPS_LISTENER, "TCP": _TCP_LISTENER}


# Every key's default, whatever the resource's type (where types differ, the ALB's comes first): the
# fallbacks of ``attribute_views``.
LOAD_BALANCER_DEFAULTS = {k: s.default for specs in (_GWLB, _NLB, _ALB) for k, s in specs.items()}
TARGET_GROUP_DEFAULTS = {k: s.default for specs in (_TG_LAMBDA, _TG_GENEVE, _TG_NLB, _TG_ALB) for k, s in specs.items()}
LISTENER_DEFAULTS = {k: s.default for specs in _LISTENER_SPECS.values() for k, s in specs.items()}


def listener_defaults(protocol: str | None) -> dict[str, str]:
    return _defaults(_LISTENER_SPECS.get(protocol or "", {}))


def validate_listener_attribute(protocol: str | None, key: str, value: str) -> None:
    specs = _LISTENER_SPECS.get(protocol or "", {})
    if key not in specs:
        if any(key in other for other in _LISTENER_SPECS.values()):
            raise AwsError(
                "InvalidConfigurationRequest",
                f"Listener attribute key '{key}' is not supported on listeners with protocol '{protocol}'",
            )
        raise validation_error(f"Listener attribute key '{key}' is not recognized")
    _check_value(specs[key], key, value)


# ---- shared ----


def _defaults(specs: dict[str, Spec]) -> dict[str, str]:
    return {key: spec.default for key, spec in specs.items()}


def _check_value(spec: Spec, key: str, value: str) -> None:
    if spec.kind == "bool" and value not in ("true", "false"):
        raise validation_error(f"'{key}' must be one of [true, false]")
    if spec.kind == "enum" and value not in spec.choices:
        raise validation_error(f"'{key}' must be one of [{', '.join(spec.choices)}]")
    if spec.kind == "int":
        if not value.lstrip("-").isdigit() or not spec.low <= int(value) <= spec.high:
            # Observed wording for deregistration_delay (moto aws_verified); applied to every range.
            raise validation_error(f"'{key}' value '{value}' must be between '{spec.low}-{spec.high}' inclusive")
