"""What a listener does with a new flow, rebuilt from its config on every update and swapped atomically."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass

from api_models.attribute_views import ListenerSettings
from emulator.dataplane.desired import forwarded_target_groups
from emulator.dataplane.runtime import ListenerConfig
from emulator.dataplane.selection.group import TargetGroupRuntime
from emulator.dataplane.tls.targets import TARGET_TLS
from emulator.timing import Timing

# AWS: "UDP flows ... idle timeout of 120 seconds", fixed. Scaled by the timing mode so tests stay quick.
UDP_IDLE_SECONDS = 120.0
# tcp.idle_timeout.seconds is real seconds (60-6000) as configured. This variable multiplies it, for tests
# only (e.g. 0.01 turns the 60 s minimum into 0.6 s); read when a listener's config is applied.
TCP_IDLE_SCALE_ENV = "ELBV2_EMULATOR_TCP_IDLE_SCALE"


@dataclass(frozen=True, slots=True)
class Route:
    group: TargetGroupRuntime | None  # NLB actions forward to exactly one group
    proxy_v2: bool
    upstream_tls: ssl.SSLContext | None
    tcp_idle: float
    udp_idle: float

    @classmethod
    def of(cls, config: ListenerConfig, timing: Timing) -> Route:
        arns = list(forwarded_target_groups(list(config.listener.DefaultActions)))
        group = config.target_groups.get(arns[0]) if arns else None
        tcp_idle = ListenerSettings.of(config.listener.attributes).tcp_idle_timeout_seconds
        return cls(
            group=group,
            proxy_v2=group is not None and group.settings.proxy_protocol_v2,
            upstream_tls=TARGET_TLS if group is not None and group.group.Protocol == "TLS" else None,
            tcp_idle=tcp_idle * float(os.environ.get(TCP_IDLE_SCALE_ENV, "1")),
            udp_idle=timing.seconds(UDP_IDLE_SECONDS),
        )
