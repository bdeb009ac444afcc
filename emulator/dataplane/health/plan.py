"""What a target group's health checks send and how they are judged, derived once per target-group config.

The checker builds a ``CheckPlan`` when a group's stored config changes (a ModifyTargetGroup or
ModifyTargetGroupAttributes commit gives the group a new, frozen ``TargetGroup``) and every probe of the
group's targets reads it, so the next check after a change uses the new settings and no probe parses any.

Defaults are AWS's (AWS documentation, "Health checks for Application Load Balancer target groups" and
"Health checks for Network Load Balancer target groups"): an NLB group checks over TCP and an HTTP check of
it passes on 200-399; an ALB group checks over HTTP and passes on 200; a GRPC group sends
``POST /AWS.ALB/healthcheck`` and passes on grpc-status 12.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from api_models.attribute_views import TargetGroupSettings
from api_models.resources import TargetGroup
from emulator.timing import Timing

log = logging.getLogger("elbv2_emulator.health")

NLB_PROTOCOLS = frozenset({"TCP", "UDP", "TLS", "TCP_UDP", "QUIC", "TCP_QUIC"})
GRPC_DEFAULT_PATH = "/AWS.ALB/healthcheck"
# Fast timing scales AWS's 5 s default timeout to 50 ms; a backend on a busy laptop (or CI box) needs more.
FAST_TIMEOUT_FLOOR = 0.25
FAST_INTERVAL_FLOOR = 0.3


@lru_cache(maxsize=256)
def parse_matcher(spec: str) -> frozenset[int]:
    """``Matcher.HttpCode`` / ``Matcher.GrpcCode`` forms: ``"200"``, ``"200,202"``, ``"200-299"`` and
    combinations of them. Raises ValueError on anything else."""
    codes: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        codes.update(range(int(low), int(high or low) + 1))
    return frozenset(codes)


@dataclass(frozen=True, slots=True)
class CheckPlan:
    group: TargetGroup  # the config this plan was derived from: a different object means derive again
    settings: TargetGroupSettings  # the group's attributes, typed
    checks_enabled: bool  # HealthCheckEnabled
    probes: bool  # the emulator probes the targets (HealthCheckEnabled)
    nlb: bool  # an NLB group: every failure is Target.FailedHealthChecks, its HTTP Host is the NLB's
    kind: str  # "tcp" | "http" | "http2" | "grpc" | "lambda"
    tls: bool  # HealthCheckProtocol HTTPS
    port: int | None  # HealthCheckPort; None: each target's traffic port
    path: str  # HTTP path or gRPC method ("" for TCP)
    codes: frozenset[int]  # the passing HTTP status codes or gRPC status codes (empty for TCP)
    interval: float  # seconds between checks, on the emulator's clock
    timeout: float  # seconds a check may take, never more than ``interval``
    healthy_threshold: int
    unhealthy_threshold: int

    @classmethod
    def of(cls, group: TargetGroup, settings: TargetGroupSettings, timing: Timing) -> CheckPlan:
        nlb = (group.Protocol or "") in NLB_PROTOCOLS
        protocol = group.HealthCheckProtocol or ("TCP" if nlb else "HTTP")
        matcher = group.Matcher or {}
        if group.TargetType == "lambda":  # the function is invoked with a health check event (lambda_probe)
            kind, path, codes = "lambda", group.HealthCheckPath or "/", matcher.get("HttpCode") or "200"
        elif protocol == "TCP":
            kind, path, codes = "tcp", "", ""
        elif group.ProtocolVersion == "GRPC":  # a gRPC call over HTTP/2 (grpc_probe)
            kind, path, codes = "grpc", group.HealthCheckPath or GRPC_DEFAULT_PATH, matcher.get("GrpcCode") or "12"
        else:  # an HTTP2 group is checked over HTTP/2, as its traffic goes (grpc_probe)
            kind = "http2" if group.ProtocolVersion == "HTTP2" else "http"
            path, codes = group.HealthCheckPath or "/", matcher.get("HttpCode") or ("200-399" if nlb else "200")
        interval = timing.seconds(group.HealthCheckIntervalSeconds)
        timeout = timing.seconds(group.HealthCheckTimeoutSeconds)
        if timing.mode == "fast":
            interval, timeout = max(interval, FAST_INTERVAL_FLOOR), max(timeout, FAST_TIMEOUT_FLOOR)
        return cls(
            group=group,
            settings=settings,
            checks_enabled=group.HealthCheckEnabled,
            probes=group.HealthCheckEnabled,
            nlb=nlb,
            kind=kind,
            tls=protocol == "HTTPS",
            port=_port(group),
            path=path,
            codes=_codes(group, codes),
            interval=interval,
            timeout=min(timeout, interval),  # a TCP check may use its whole interval
            healthy_threshold=group.HealthyThresholdCount,
            unhealthy_threshold=group.UnhealthyThresholdCount,
        )


def _port(group: TargetGroup) -> int | None:
    port = group.HealthCheckPort
    if not port or port == "traffic-port":
        return None
    try:
        return int(port)
    except ValueError:  # the API validates it; never let one group stop the reconciler
        log.warning("target group %s: health check port %r is not a port", group.TargetGroupArn, port)
        return None


def _codes(group: TargetGroup, spec: str) -> frozenset[int]:
    try:
        return parse_matcher(spec) if spec else frozenset()
    except ValueError:  # as above: a check that nothing passes
        log.warning("target group %s: matcher %r is not a list of codes", group.TargetGroupArn, spec)
        return frozenset()
