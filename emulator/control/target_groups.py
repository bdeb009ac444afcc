"""CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup, DeleteTargetGroup.

A target group's ``LoadBalancerArns`` is derived from the listeners and rules forwarding to it, never
stored, so it can't go stale when a listener, rule or load balancer goes away.
"""

from __future__ import annotations

from typing import Any

from api_models import identifiers as ids
from api_models.attributes import target_group_defaults
from api_models.resources import TargetGroup, TargetRegistration
from api_models.validation import (
    GENEVE_PORT,
    HTTP_PROTOCOLS,
    health_check_defaults,
    validate_health_check,
    validate_target_group_name,
)
from emulator.control import aws_services, limits
from emulator.control.context import Context, Request, Result, operation
from emulator.control.lookups import load_balancer_or_error, load_balancers_of_target_group, target_group_or_error
from emulator.control.paging import paginate
from emulator.control.tags import merge_tags
from emulator.errors import AwsError, validation_error

HEALTH_CHECK_MEMBERS = (
    "HealthCheckProtocol", "HealthCheckPort", "HealthCheckEnabled", "HealthCheckPath", "HealthCheckIntervalSeconds",
    "HealthCheckTimeoutSeconds", "HealthyThresholdCount", "UnhealthyThresholdCount", "Matcher",
)
_PLACEMENT = ("Protocol", "Port", "VpcId")  # what every target type but lambda needs


def describe(ctx: Context, tg: TargetGroup) -> dict[str, Any]:
    return tg.to_aws() | {"LoadBalancerArns": load_balancers_of_target_group(ctx, tg.TargetGroupArn)}


@operation("CreateTargetGroup")
def create_target_group(ctx: Context, req: Request) -> Result:
    name, target_type = req["Name"], req.get("TargetType", "instance")
    validate_target_group_name(name)
    _check_placement(ctx, req, target_type)
    protocol = req.get("Protocol")
    settings = _settings(req, target_type) | _health_check(protocol, req.get("ProtocolVersion"), target_type, req)
    tags = merge_tags({}, req.get("Tags"))
    existing = next((tg for tg in ctx.tx.all(TargetGroup) if tg.TargetGroupName == name), None)
    if existing is not None:
        # Idempotent for identical settings (API Reference, CreateTargetGroup), DuplicateTargetGroupName otherwise.
        if any(getattr(existing, member) != value for member, value in settings.items()):
            raise AwsError("DuplicateTargetGroupName", "A target group with the specified name already exists.")
        return {"TargetGroups": [describe(ctx, existing)]}
    limits.check_target_groups(ctx, protocol)
    tg = TargetGroup(
        account=ctx.account, region=ctx.region, tags=tags,
        TargetGroupArn=ids.target_group_arn(ctx.region, ctx.account, name, ids.new_id()), TargetGroupName=name,
        attributes=target_group_defaults(protocol, target_type), **settings,
    )
    ctx.tx.put(tg)
    return {"TargetGroups": [describe(ctx, tg)]}


def _check_placement(ctx: Context, req: Request, target_type: str) -> None:
    if target_type == "lambda":
        for member, label in zip(_PLACEMENT, ("Protocol", "Port", "VPC ID")):
            if req.get(member) is not None:
                raise validation_error(f"{label} cannot be specified for target groups with target type 'lambda'")
        return
    for member, label in zip(_PLACEMENT, ("protocol", "port", "VPC ID")):
        if req.get(member) is None:
            raise validation_error(f"A {label} must be specified")
    aws_services.require_vpc(ctx, req["VpcId"])
    if target_type == "alb" and req["Protocol"] != "TCP":
        raise validation_error("Target groups with target type 'alb' must use the TCP protocol")  # wording inferred
    if req["Protocol"] == "GENEVE" and req["Port"] != GENEVE_PORT:
        # Gateway Load Balancer groups take instance or ip targets (lambda and alb are refused above).
        raise validation_error(f"Port must be '{GENEVE_PORT}' for target groups with the GENEVE protocol")  # wording inferred
    if req.get("ProtocolVersion") and req["Protocol"] not in HTTP_PROTOCOLS:
        raise validation_error(f"A protocol version cannot be specified for target groups with the {req['Protocol']} protocol")  # wording inferred


def _settings(req: Request, target_type: str) -> dict[str, Any]:
    """The non-health-check members the target group will echo."""
    protocol = req.get("Protocol")
    return {
        "Protocol": protocol, "Port": req.get("Port"), "VpcId": req.get("VpcId"), "TargetType": target_type,
        "ProtocolVersion": req.get("ProtocolVersion", "HTTP1") if protocol in HTTP_PROTOCOLS else None,
        # GENEVE groups echo no IpAddressType (moto's observed shape; inferred).
        "IpAddressType": req.get("IpAddressType", "ipv4") if target_type in ("instance", "ip") and protocol != "GENEVE" else None,
    }


def _health_check(protocol: str | None, version: str | None, target_type: str, given: dict[str, Any]) -> dict[str, Any]:
    """Defaults for the TG kind (API Reference, CreateTargetGroup) overlaid with the caller's members, then checked."""
    defaults = health_check_defaults(protocol, version, target_type, given.get("HealthCheckProtocol"))
    settings = defaults | {member: given[member] for member in HEALTH_CHECK_MEMBERS if member in given}
    validate_health_check(protocol, target_type, settings)
    return {member: settings.get(member) for member in HEALTH_CHECK_MEMBERS}


@operation("DescribeTargetGroups")
def describe_target_groups(ctx: Context, req: Request) -> Result:
    lb_arn, arns, names = req.get("LoadBalancerArn"), req.get("TargetGroupArns"), req.get("Names")
    if sum(1 for given in (lb_arn, arns, names) if given) > 1:
        raise validation_error("Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time")
    if arns:
        found = [target_group_or_error(ctx, arn) for arn in arns]
    elif names:
        by_name = {tg.TargetGroupName: tg for tg in ctx.tx.all(TargetGroup)}
        if any(name not in by_name for name in names):
            raise AwsError("TargetGroupNotFound", "One or more target groups not found")
        found = [by_name[name] for name in dict.fromkeys(names)]
    elif lb_arn:
        load_balancer_or_error(ctx, lb_arn)
        found = [tg for tg in ctx.tx.all(TargetGroup) if lb_arn in load_balancers_of_target_group(ctx, tg.TargetGroupArn)]
    else:
        found = ctx.tx.all(TargetGroup)
    page, marker = paginate(found, req, key=lambda tg: (tg.TargetGroupName, tg.TargetGroupArn))
    return {"TargetGroups": [describe(ctx, tg) for tg in page], "NextMarker": marker}


@operation("ModifyTargetGroup")
def modify_target_group(ctx: Context, req: Request) -> Result:
    """Only health-check settings can change after creation."""
    tg = target_group_or_error(ctx, req["TargetGroupArn"])
    current = {member: getattr(tg, member) for member in HEALTH_CHECK_MEMBERS if getattr(tg, member) is not None}
    settings = _health_check(tg.Protocol, tg.ProtocolVersion, tg.TargetType, current | req)
    updated = tg.model_copy(update=settings)
    ctx.tx.put(updated)
    return {"TargetGroups": [describe(ctx, updated)]}


@operation("DeleteTargetGroup")
def delete_target_group(ctx: Context, req: Request) -> Result:
    tg = ctx.tx.get(TargetGroup, req["TargetGroupArn"])
    if tg is None:
        return None  # a missing target group deletes fine (inferred, as DeleteLoadBalancer documents)
    if load_balancers_of_target_group(ctx, tg.TargetGroupArn):
        raise AwsError("ResourceInUse", f"The target group '{tg.TargetGroupArn}' is currently in use by a listener or a rule")
    for registration in ctx.tx.all(TargetRegistration):
        if registration.target_group_arn == tg.TargetGroupArn:
            ctx.tx.delete(registration)
    ctx.tx.delete(tg)
    return None
