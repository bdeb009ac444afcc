"""Typed, read-only views of the attribute maps, for the code that acts on them (the data plane).

The stored resources keep AWS's shape, a ``dict[str, str]`` per resource. Code that enforces an attribute
reads it here instead, as a Python value, so each key is spelled and each default is stated once: the
defaults come from the ``Spec`` tables in ``attributes.py``, the same ones Describe*Attributes returns.

AWS documentation: "Edit target group attributes" (ALB and NLB user guides), "Load balancer attributes",
"Listener attributes" (API_TargetGroupAttribute, API_LoadBalancerAttribute, API_ListenerAttribute).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from api_models.attributes import (
    LISTENER_DEFAULTS,
    LOAD_BALANCER_DEFAULTS,
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    TARGET_GROUP_DEFAULTS,
)


class _Reader:
    """Reads one attribute map, falling back to a table of defaults (every key is in the table)."""

    __slots__ = ("values", "defaults")

    def __init__(self, values: Mapping[str, str], defaults: Mapping[str, str]) -> None:
        self.values, self.defaults = values, defaults

    def text(self, key: str) -> str:
        value = self.values.get(key)
        return value if value is not None else self.defaults[key]

    def flag(self, key: str) -> bool:
        return self.text(key) == "true"

    def number(self, key: str) -> float:
        return float(self.text(key))


@dataclass(frozen=True, slots=True)
class TargetGroupSettings:
    deregistration_delay_seconds: float
    stickiness: str  # "" when off, else the stickiness.type: lb_cookie | app_cookie | source_ip | ...
    stickiness_seconds: int  # the duration of lb_cookie or app_cookie stickiness
    app_cookie_name: str
    slow_start_seconds: float
    algorithm: str  # round_robin | least_outstanding_requests | weighted_random
    min_healthy_count: int  # unhealthy_state_routing: fewer healthy targets than this -> fail open
    min_healthy_percentage: int | None  # None: "off"
    terminate_on_deregistration: bool  # NLB: deregistration_delay.connection_termination.enabled
    terminate_when_unhealthy: bool  # NLB: target_health_state.unhealthy.connection_termination.enabled
    unhealthy_draining_seconds: float
    proxy_protocol_v2: bool

    @classmethod
    def of(cls, attributes: Mapping[str, str]) -> TargetGroupSettings:
        read = _Reader(attributes, TARGET_GROUP_DEFAULTS)
        stickiness = read.text("stickiness.type") if read.flag("stickiness.enabled") else ""
        duration = f"stickiness.{stickiness}.duration_seconds"
        percentage = read.text("target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage")
        return cls(
            deregistration_delay_seconds=read.number("deregistration_delay.timeout_seconds"),
            stickiness=stickiness,
            stickiness_seconds=int(read.number(duration)) if duration in TARGET_GROUP_DEFAULTS else 0,
            app_cookie_name=read.text("stickiness.app_cookie.cookie_name"),
            slow_start_seconds=read.number("slow_start.duration_seconds"),
            algorithm=read.text("load_balancing.algorithm.type"),
            min_healthy_count=max(
                int(read.text("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count")), 1
            ),
            min_healthy_percentage=None if percentage == "off" else int(percentage),
            terminate_on_deregistration=read.flag("deregistration_delay.connection_termination.enabled"),
            terminate_when_unhealthy=read.flag("target_health_state.unhealthy.connection_termination.enabled"),
            unhealthy_draining_seconds=read.number("target_health_state.unhealthy.draining_interval_seconds"),
            proxy_protocol_v2=read.flag("proxy_protocol_v2.enabled"),
        )


@dataclass(frozen=True, slots=True)
class LoadBalancerSettings:
    idle_timeout_seconds: float
    client_keep_alive_seconds: float
    http2_enabled: bool
    desync_mitigation_mode: str  # defensive | monitor | strictest
    xff_mode: str  # append | preserve | remove
    xff_client_port: bool
    preserve_host_header: bool
    drop_invalid_header_fields: bool
    tls_version_and_cipher_headers: bool

    @classmethod
    def of(cls, attributes: Mapping[str, str]) -> LoadBalancerSettings:
        read = _Reader(attributes, LOAD_BALANCER_DEFAULTS)
        return cls(
            idle_timeout_seconds=read.number("idle_timeout.timeout_seconds"),
            client_keep_alive_seconds=read.number("client_keep_alive.seconds"),
            http2_enabled=read.flag("routing.http2.enabled"),
            desync_mitigation_mode=read.text("routing.http.desync_mitigation_mode"),
            xff_mode=read.text("routing.http.xff_header_processing.mode"),
            xff_client_port=read.flag("routing.http.xff_client_port.enabled"),
            preserve_host_header=read.flag("routing.http.preserve_host_header.enabled"),
            drop_invalid_header_fields=read.flag("routing.http.drop_invalid_header_fields.enabled"),
            tls_version_and_cipher_headers=read.flag("routing.http.x_amzn_tls_version_and_cipher_suite.enabled"),
        )


@dataclass(frozen=True, slots=True)
class ListenerSettings:
    server_header: bool  # routing.http.response.server.enabled
    response_headers: tuple[tuple[str, str], ...]  # injected (Header-Name, value), in the table's order
    request_header_names: Mapping[str, str]  # x_amzn_mtls_* / x_amzn_tls_* key -> the header name to send
    tcp_idle_timeout_seconds: float

    @classmethod
    def of(cls, attributes: Mapping[str, str]) -> ListenerSettings:
        read = _Reader(attributes, LISTENER_DEFAULTS)
        injected = tuple(
            (header, value)
            for key, header in RESPONSE_HEADERS.items()
            if (value := read.text(f"routing.http.response.{key}.header_value"))
        )
        names = {key: read.text(f"routing.http.request.{key}.header_name") or default
                 for key, default in REQUEST_HEADERS.items()}
        return cls(
            server_header=read.flag("routing.http.response.server.enabled"),
            response_headers=injected,
            request_header_names=names,
            tcp_idle_timeout_seconds=read.number("tcp.idle_timeout.seconds"),
        )
