"""RegisterTargets, DeregisterTargets, DescribeTargetHealth.

A deregistered target drains for the target group's ``deregistration_delay.timeout_seconds`` (on the
emulator's clock) and is then gone; expired registrations are purged whenever a target group's targets
are read or written, so no background job is needed.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from api_models.resources import LoadBalancer, TargetGroup, TargetRegistration
from emulator.control import aws_services, limits, quic
from emulator.control.context import Context, Request, Result, operation
from emulator.control.lookups import load_balancers_of_target_group, target_group_or_error
from emulator.errors import AwsError
from emulator.store import HealthStatus

NOT_REGISTERED = HealthStatus("unused", "Target.NotRegistered", "Target is not registered to the target group")
NOT_IN_USE = HealthStatus("unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer")
DRAINING = HealthStatus("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
DISABLED = HealthStatus("unavailable", "Target.HealthCheckDisabled", "Health checks are disabled")
HEALTHY = HealthStatus("healthy")  # until the health checker reports on a target
# Target.InvalidState: "The target is in the stopped or terminated state" (API_TargetHealth).
STOPPED = HealthStatus("unused", "Target.InvalidState", "Target is in the stopped state")
TERMINATED = HealthStatus("unused", "Target.InvalidState", "Target is in the terminated state")  # wording inferred
INVALID_STATES = {"stopping": STOPPED, "stopped": STOPPED, "shutting-down": TERMINATED, "terminated": TERMINATED}
IP_UNUSABLE = HealthStatus(
    "unused", "Target.IpUnusable", "The IP address cannot be used as a target, as it is in use by a load balancer"
)
# Every entry carries it on AWS (API_TargetHealthDescription, API_AdministrativeOverride); zonal shifts
# are not emulated, so no override is ever active.
NO_OVERRIDE = {
    "State": "no_override", "Reason": "AdministrativeOverride.NoOverride",
    "Description": "No override is currently active on target",
}
# Include=AnomalyDetection|All: ALB (HTTP/HTTPS) groups only; the emulator never sees an anomaly.
NORMAL = {"Result": "normal", "MitigationInEffect": "no"}


def registrations(ctx: Context, tg: TargetGroup) -> list[TargetRegistration]:
    """The TG's live registrations (registered or draining), purging those whose draining has ended."""
    delay = timedelta(seconds=ctx.timing.seconds(int(tg.attributes.get("deregistration_delay.timeout_seconds", "0"))))
    live = []
    for registration in ctx.tx.all(TargetRegistration):
        if registration.target_group_arn != tg.TargetGroupArn:
            continue
        if registration.deregistered_at is not None and registration.deregistered_at + delay <= ctx.now:
            ctx.tx.delete(registration)
        else:
            live.append(registration)
    return live


def _port(tg: TargetGroup, target: dict[str, Any]) -> int | None:
    """A Port given with the target overrides the TG's port (lambda targets have none)."""
    return None if tg.TargetType == "lambda" else target.get("Port", tg.Port)


def _find(live: list[TargetRegistration], target_id: str, port: int | None) -> TargetRegistration | None:
    return next((r for r in live if r.Id == target_id and r.Port == port), None)


@operation("RegisterTargets")
def register_targets(ctx: Context, req: Request) -> Result:
    tg = target_group_or_error(ctx, req["TargetGroupArn"])
    for target in req["Targets"]:
        _check_target(ctx, tg, target)
    if tg.TargetType in ("lambda", "alb") and len({t["Id"] for t in req["Targets"]}) > 1:
        raise AwsError("TooManyTargets", f"A target group with target type '{tg.TargetType}' can have only one target")  # wording inferred
    live = registrations(ctx, tg)
    quic_group = tg.Protocol in quic.QUIC_PROTOCOLS
    peers = [registration for arn in (quic.peer_groups(ctx, tg.TargetGroupArn) if quic_group else [])
             for registration in registrations(ctx, target_group_or_error(ctx, arn))]
    for target in req["Targets"]:
        quic.check_server_id(tg, target, live, _port(tg, target), peers)
    server_ids = {(t["Id"], _port(tg, t)): t["QuicServerId"] for t in req["Targets"] if t.get("QuicServerId")}
    if len(set(server_ids.values())) != len(server_ids):
        raise AwsError("InvalidTarget", "Each target must have its own QUIC server ID")  # wording inferred
    new = [target for target in req["Targets"] if not _is_registered(live, target["Id"], _port(tg, target))]
    limits.check_targets(ctx, tg, list(dict.fromkeys((t["Id"], _port(tg, t)) for t in new)))
    for target in new:
        ctx.tx.put(TargetRegistration(
            account=ctx.account, region=ctx.region, target_group_arn=tg.TargetGroupArn, Id=target["Id"],
            Port=_port(tg, target), AvailabilityZone=target.get("AvailabilityZone"),
            QuicServerId=target.get("QuicServerId"), registered_at=ctx.now,
        ))
    return None


def _is_registered(live: list[TargetRegistration], target_id: str, port: int | None) -> bool:
    """Registering a registered (not draining) target again changes nothing."""
    existing = _find(live, target_id, port)
    return existing is not None and existing.deregistered_at is None


def _check_target(ctx: Context, tg: TargetGroup, target: dict[str, Any]) -> None:
    target_id = target["Id"]
    if tg.TargetType == "instance":
        state = aws_services.instance_state(ctx, target_id)
        if state is None:
            raise AwsError("InvalidTarget", "The specified target does not exist or is not in the same VPC as the target group.")
        if state != "running":
            raise AwsError("InvalidTarget", f"The following targets are not in a running state and cannot be registered: '{target_id}'")
    elif tg.TargetType == "ip":
        try:
            ipaddress.ip_address(target_id)
        except ValueError:
            raise AwsError("InvalidTarget", f"The IP address '{target_id}' is not a valid IP address") from None  # wording inferred
    elif tg.TargetType == "alb":
        lb = ctx.tx.get(LoadBalancer, target_id)
        if lb is None or lb.Type != "application":
            raise AwsError("InvalidTarget", f"The target '{target_id}' is not a valid Application Load Balancer")  # wording inferred
    if tg.TargetType == "lambda" and "Port" in target:
        raise AwsError("InvalidTarget", "A port cannot be specified for a target of type 'lambda'")  # wording inferred


@operation("DeregisterTargets")
def deregister_targets(ctx: Context, req: Request) -> Result:
    """Deregistering starts draining; a target that isn't registered deregisters fine."""
    tg = target_group_or_error(ctx, req["TargetGroupArn"])
    live = registrations(ctx, tg)
    for target in req["Targets"]:
        registration = _find(live, target["Id"], _port(tg, target))
        if registration is not None and registration.deregistered_at is None:
            ctx.tx.put(registration.model_copy(update={"deregistered_at": ctx.now}))
    registrations(ctx, tg)  # a zero delay means the target is gone at once
    return None


@operation("DescribeTargetHealth")
def describe_target_health(ctx: Context, req: Request) -> Result:
    tg = target_group_or_error(ctx, req["TargetGroupArn"])
    live = registrations(ctx, tg)
    in_use = bool(load_balancers_of_target_group(ctx, tg.TargetGroupArn))
    if "Targets" in req:
        asked = [(t, _find(live, t["Id"], _port(tg, t))) for t in req["Targets"]]
    else:
        asked = [({"Id": r.Id, "Port": r.Port}, r) for r in live]
    include = req.get("Include") or []
    anomaly = bool({"AnomalyDetection", "All"} & set(include)) and tg.Protocol in ("HTTP", "HTTPS")
    lb_ips = {lb.address for lb in ctx.tx.all(LoadBalancer)} if tg.TargetType == "ip" else set()
    return {"TargetHealthDescriptions": [_description(ctx, tg, t, r, in_use, anomaly, lb_ips) for t, r in asked]}


def _description(
    ctx: Context, tg: TargetGroup, target: dict[str, Any], registration: TargetRegistration | None, in_use: bool,
    anomaly: bool, lb_ips: set[str],
) -> dict[str, Any]:
    port = _port(tg, target)
    shown: dict[str, Any] = {"Id": target["Id"]}
    if port is not None:
        shown["Port"] = port
    zone = registration.AvailabilityZone if registration else target.get("AvailabilityZone")
    if zone:
        shown["AvailabilityZone"] = zone
    server_id = registration.QuicServerId if registration else target.get("QuicServerId")
    if server_id:
        shown["QuicServerId"] = server_id
    entry: dict[str, Any] = {"Target": shown, "TargetHealth": _health_dict(_status(ctx, tg, registration, port, in_use, lb_ips))}
    if port is not None:
        entry["HealthCheckPort"] = str(port) if tg.HealthCheckPort in (None, "traffic-port") else tg.HealthCheckPort
    if anomaly:
        entry["AnomalyDetection"] = dict(NORMAL)
    entry["AdministrativeOverride"] = dict(NO_OVERRIDE)
    return entry


def _status(
    ctx: Context, tg: TargetGroup, registration: TargetRegistration | None, port: int | None, in_use: bool,
    lb_ips: set[str],
) -> HealthStatus:
    if registration is None:
        return NOT_REGISTERED
    if registration.deregistered_at is not None:
        return DRAINING
    if tg.TargetType == "instance" and (invalid := INVALID_STATES.get(aws_services.instance_state(ctx, registration.Id) or "")):
        return invalid
    if registration.Id in lb_ips:  # an ip target that is a load balancer's own address
        return IP_UNUSABLE
    if not in_use:
        return NOT_IN_USE
    if not tg.HealthCheckEnabled:
        return DISABLED
    return ctx.services.health.get((tg.TargetGroupArn, registration.Id, port)) or HEALTHY


def _health_dict(status: HealthStatus) -> dict[str, str]:
    health = {"State": status.state, "Reason": status.reason, "Description": status.description}
    return {key: value for key, value in health.items() if value is not None}
