"""Describe/Modify LoadBalancerAttributes, TargetGroupAttributes and ListenerAttributes.

Describe returns every key of the resource's default set (api_models.attributes); Modify checks each
key and value first, then answers with the full set as AWS does.
"""

from __future__ import annotations

from api_models.attributes import (
    validate_listener_attribute,
    validate_load_balancer_attribute,
    validate_target_group_attributes,
)
from emulator.control import s3_objects
from emulator.control.context import Context, Request, Result, operation
from emulator.control.lookups import listener_or_error, load_balancer_or_error, target_group_or_error
from emulator.errors import AwsError, validation_error

_S3_LOGS = ("access_logs", "connection_logs", "health_check_logs")


def _as_list(attributes: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in attributes.items()]


def _changes(req: Request) -> dict[str, str]:
    """Key -> new value. The model leaves Key optional, but an attribute without one names nothing: refused
    in AWS's (Coral) wording for a missing member."""
    missing = [index for index, attribute in enumerate(req["Attributes"], 1) if "Key" not in attribute]
    if missing:
        details = "; ".join(
            f"Value null at 'attributes.{index}.member.key' failed to satisfy constraint: Member must not be null"
            for index in missing
        )
        count = len(missing)
        raise validation_error(f"{count} validation error{'' if count == 1 else 's'} detected: {details}")
    return {attribute["Key"]: attribute.get("Value", "") for attribute in req["Attributes"]}


@operation("DescribeLoadBalancerAttributes")
def describe_load_balancer_attributes(ctx: Context, req: Request) -> Result:
    return {"Attributes": _as_list(load_balancer_or_error(ctx, req["LoadBalancerArn"]).attributes)}


@operation("ModifyLoadBalancerAttributes")
def modify_load_balancer_attributes(ctx: Context, req: Request) -> Result:
    changes = _changes(req)
    lb = load_balancer_or_error(ctx, req["LoadBalancerArn"])
    for key, value in changes.items():
        validate_load_balancer_attribute(lb.Type, key, value)
    updated = lb.model_copy(update={"attributes": lb.attributes | changes})
    _check_log_buckets(updated.attributes, changes)
    ctx.tx.put(updated)
    return {"Attributes": _as_list(updated.attributes)}


def _check_log_buckets(attributes: dict[str, str], changes: dict[str, str]) -> None:
    """A log enabled by this change must name a bucket that exists: AWS checks it by writing a test file
    ("Enable access logs": it refuses the change when it cannot), so a missing bucket fails the call. The
    empty-bucket wording is AWS's (seen in Terraform reports); the missing-bucket wording is inferred."""
    for log in _S3_LOGS:
        if attributes.get(f"{log}.s3.enabled") != "true" or not any(key.startswith(f"{log}.s3.") for key in changes):
            continue
        bucket = attributes.get(f"{log}.s3.bucket", "")
        if not bucket:
            raise validation_error(f"The value of '{log}.s3.bucket' cannot be empty")
        if not s3_objects.bucket_exists(bucket):
            raise AwsError("InvalidConfigurationRequest", f"The specified bucket does not exist: {bucket}")


@operation("DescribeTargetGroupAttributes")
def describe_target_group_attributes(ctx: Context, req: Request) -> Result:
    return {"Attributes": _as_list(target_group_or_error(ctx, req["TargetGroupArn"]).attributes)}


@operation("ModifyTargetGroupAttributes")
def modify_target_group_attributes(ctx: Context, req: Request) -> Result:
    changes = _changes(req)
    tg = target_group_or_error(ctx, req["TargetGroupArn"])
    merged = tg.attributes | changes
    validate_target_group_attributes(tg.Protocol, tg.TargetType, merged, changes)
    ctx.tx.put(tg.model_copy(update={"attributes": merged}))
    return {"Attributes": _as_list(merged)}


@operation("DescribeListenerAttributes")
def describe_listener_attributes(ctx: Context, req: Request) -> Result:
    return {"Attributes": _as_list(listener_or_error(ctx, req["ListenerArn"]).attributes)}


@operation("ModifyListenerAttributes")
def modify_listener_attributes(ctx: Context, req: Request) -> Result:
    changes = _changes(req)
    listener = listener_or_error(ctx, req["ListenerArn"])
    for key, value in changes.items():
        validate_listener_attribute(listener.Protocol, key, value)
    updated = listener.model_copy(update={"attributes": listener.attributes | changes})
    ctx.tx.put(updated)
    return {"Attributes": _as_list(updated.attributes)}
