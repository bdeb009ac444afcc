"""AddTags, RemoveTags and DescribeTags on load balancers, target groups, listeners, rules and trust stores.

Also ``merge_tags``, which the Create* handlers use for their ``Tags`` member: the same limits apply.
"""

from __future__ import annotations

from typing import Any

from api_models.resources import Tagged
from emulator.control.context import Context, Request, Result, operation
from emulator.control.limits import check_tags
from emulator.control.lookups import (
    listener_or_error,
    load_balancer_or_error,
    rule_or_error,
    target_group_or_error,
    trust_store_or_error,
)
from emulator.errors import AwsError

# ARN resource-type segment -> the find-or-raise for that kind (rule before listener: ":listener-rule/").
_LOOKUPS = (
    (":loadbalancer/", load_balancer_or_error),
    (":targetgroup/", target_group_or_error),
    (":listener-rule/", rule_or_error),
    (":listener/", listener_or_error),
    (":truststore/", trust_store_or_error),
)


def merge_tags(existing: dict[str, str], tags: list[dict[str, Any]] | None) -> dict[str, str]:
    """``existing`` with ``tags`` applied; DuplicateTagKeys / TooManyTags as AWS answers them."""
    merged = dict(existing)
    seen: set[str] = set()
    for tag in tags or []:
        key = tag["Key"]
        if key in seen:
            raise AwsError("DuplicateTagKeys", f"Tag key '{key}' specified more than once")  # wording inferred
        seen.add(key)
        merged[key] = tag.get("Value", "")
    check_tags(sum(1 for key in merged if not key.startswith("aws:")))  # AWS's own tags do not count
    return merged


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _resource(ctx: Context, arn: str) -> Tagged:
    for segment, lookup in _LOOKUPS:
        if segment in arn:
            return lookup(ctx, arn)
    raise AwsError("ValidationError", f"The ARN '{arn}' is not a valid resource ARN")  # wording inferred


@operation("AddTags")
def add_tags(ctx: Context, req: Request) -> Result:
    updated = [(r, merge_tags(r.tags, req["Tags"])) for r in (_resource(ctx, arn) for arn in req["ResourceArns"])]
    for resource, tags in updated:
        ctx.tx.put(resource.model_copy(update={"tags": tags}))
    return None


@operation("RemoveTags")
def remove_tags(ctx: Context, req: Request) -> Result:
    resources = [_resource(ctx, arn) for arn in req["ResourceArns"]]
    for resource in resources:
        kept = {k: v for k, v in resource.tags.items() if k not in req["TagKeys"]}
        ctx.tx.put(resource.model_copy(update={"tags": kept}))
    return None


@operation("DescribeTags")
def describe_tags(ctx: Context, req: Request) -> Result:
    return {
        "TagDescriptions": [
            {"ResourceArn": arn, "Tags": tag_list(_resource(ctx, arn).tags)} for arn in req["ResourceArns"]
        ]
    }
