"""CreateRule, DescribeRules, ModifyRule, DeleteRule, SetRulePriorities.

Priorities are 1-50000, unique per listener and returned as strings; the default rule (Priority
"default") mirrors the listener's DefaultActions and can be neither deleted nor re-prioritised.
"""

from __future__ import annotations

from api_models import identifiers as ids
from api_models.resources import LoadBalancer, Rule
from emulator.control import limits
from emulator.control.actions import normalise_actions
from emulator.control.conditions import normalise_conditions
from emulator.control.context import Context, Request, Result, operation
from emulator.control.lookups import listener_or_error, load_balancer_or_error, rule_or_error, rules_of
from emulator.control.paging import paginate
from emulator.control.tags import merge_tags
from emulator.control.transforms import normalise_transforms
from emulator.errors import AwsError, validation_error


def _priority_in_use() -> AwsError:
    return AwsError("PriorityInUse", "The specified priority is in use.")


def _default_rule_error(rule: Rule, verb: str) -> AwsError:
    return AwsError("OperationNotPermitted", f"Default rule '{rule.RuleArn}' cannot be {verb}")  # wording inferred


@operation("CreateRule")
def create_rule(ctx: Context, req: Request) -> Result:
    listener = listener_or_error(ctx, req["ListenerArn"])
    lb = load_balancer_or_error(ctx, listener.LoadBalancerArn)
    _check_rules_supported(lb, req)
    conditions = normalise_conditions(req["Conditions"])
    actions = normalise_actions(ctx, req["Actions"], lb, listener.Protocol)
    transforms = normalise_transforms(req.get("Transforms"))
    tags = merge_tags({}, req.get("Tags"))
    priority = str(req["Priority"])
    if any(rule.Priority == priority for rule in rules_of(ctx, listener.ListenerArn)):
        raise _priority_in_use()
    limits.check_rules(ctx, lb)
    limits.check_unique_target_groups(ctx, lb, actions, replaced_rule=None)
    rule = Rule(
        account=ctx.account, region=ctx.region, tags=tags,
        RuleArn=ids.rule_arn(listener.ListenerArn, ids.new_id()), Priority=priority,
        Conditions=conditions, Actions=actions, IsDefault=False, Transforms=transforms,
        listener_arn=listener.ListenerArn,
    )
    ctx.tx.put(rule)
    return {"Rules": [rule.to_aws()]}


def _check_rules_supported(lb: LoadBalancer, req: Request) -> None:
    """ALBs take any rule; NLBs take source-ip rules, and only when dual-stack (NLB guide, "Listener rules":
    "You must have a dual-stack Network Load Balancer"); GWLB listeners have only their default action.

    A source-ip condition matches CIDR ``Values`` on an ALB and the source's ``IpAddressType`` on an NLB
    (API Reference, SourceIpConditionConfig: "For Application Load Balancers, use Values to specify CIDR
    ranges. For Network Load Balancers, use IpAddressType")."""
    source_ip = [c.get("SourceIpConfig") or {} for c in req.get("Conditions") or [] if c.get("Field") == "source-ip"]
    if lb.Type == "application":
        if any("IpAddressType" in config for config in source_ip):
            raise validation_error("'IpAddressType' is supported only in Network Load Balancer rules")  # wording inferred
        return
    if lb.Type == "gateway" or lb.IpAddressType != "dualstack":
        raise AwsError(
            "InvalidConfigurationRequest",
            "Listener rules are supported only on Application Load Balancers and dual-stack Network Load Balancers",
        )  # wording inferred
    if any(condition.get("Field") != "source-ip" for condition in req.get("Conditions") or []):
        raise validation_error("Network Load Balancer rules support only 'source-ip' conditions")  # wording inferred
    if any("IpAddressType" not in config for config in source_ip):
        raise validation_error(
            "Network Load Balancer rules match the source IP address type: specify 'IpAddressType' in 'SourceIpConfig'"
        )  # wording inferred
    if req.get("Transforms"):
        raise validation_error("Transforms are supported only on Application Load Balancer rules")  # wording inferred


@operation("DescribeRules")
def describe_rules(ctx: Context, req: Request) -> Result:
    listener_arn, arns = req.get("ListenerArn"), req.get("RuleArns")
    if listener_arn and arns:
        raise validation_error("Listener rule ARNs and a listener ARN cannot be specified at the same time")
    if arns:
        found = [rule_or_error(ctx, arn) for arn in arns]
    elif listener_arn:
        found = rules_of(ctx, listener_or_error(ctx, listener_arn).ListenerArn)
    else:
        raise validation_error("You must specify either listener rule ARNs or a listener ARN")
    page, marker = paginate(found, req, key=lambda rule: (rule.priority_number, rule.RuleArn))
    return {"Rules": [rule.to_aws() for rule in page], "NextMarker": marker}


@operation("ModifyRule")
def modify_rule(ctx: Context, req: Request) -> Result:
    """Omitted members stay; a list given replaces the whole list (API Reference, ModifyRule)."""
    rule = rule_or_error(ctx, req["RuleArn"])
    listener = listener_or_error(ctx, rule.listener_arn)
    lb = load_balancer_or_error(ctx, listener.LoadBalancerArn)
    if not rule.IsDefault:
        _check_rules_supported(lb, req)
    update: dict[str, object] = {}
    if "Conditions" in req:
        if rule.IsDefault:
            raise _default_rule_error(rule, "given conditions")
        update["Conditions"] = normalise_conditions(req["Conditions"])
    if "Actions" in req:
        actions = normalise_actions(ctx, req["Actions"], lb, listener.Protocol)
        limits.check_unique_target_groups(ctx, lb, actions, replaced_rule=rule.RuleArn)
        update["Actions"] = actions
    update |= _transforms_update(rule, req)
    updated = rule.model_copy(update=update)
    ctx.tx.put(updated)
    if rule.IsDefault and "Actions" in update:
        ctx.tx.put(listener.model_copy(update={"DefaultActions": update["Actions"]}))
    return {"Rules": [updated.to_aws()]}


def _transforms_update(rule: Rule, req: Request) -> dict[str, object]:
    """API_ModifyRule: "If you specify ResetTransforms, you can't specify Transforms." """
    if req.get("ResetTransforms") and "Transforms" in req:
        raise validation_error("You cannot specify both Transforms and ResetTransforms")  # wording inferred
    if req.get("ResetTransforms"):
        return {"Transforms": None}
    if "Transforms" not in req:
        return {}
    if rule.IsDefault:
        raise _default_rule_error(rule, "given transforms")  # ALB guide: "You can't add a transform to a default rule."
    return {"Transforms": normalise_transforms(req["Transforms"])}


@operation("DeleteRule")
def delete_rule(ctx: Context, req: Request) -> Result:
    rule = rule_or_error(ctx, req["RuleArn"])
    if rule.IsDefault:
        raise _default_rule_error(rule, "deleted")
    ctx.tx.delete(rule)
    return None


@operation("SetRulePriorities")
def set_rule_priorities(ctx: Context, req: Request) -> Result:
    """The whole batch is checked before any priority changes."""
    changes: dict[str, str] = {}
    for item in req["RulePriorities"]:
        # Both members are optional in the model, but a pair means nothing without either.
        if item.get("RuleArn") is None or item.get("Priority") is None:
            raise validation_error("A rule ARN and a priority must be specified for each rule")  # wording inferred
        priority = str(item["Priority"])
        if priority in changes.values():
            raise validation_error(f"Priority '{priority}' was provided multiple times")
        changes[item["RuleArn"]] = priority
    rules = [rule_or_error(ctx, arn) for arn in changes]
    for rule in rules:
        if rule.IsDefault:
            raise _default_rule_error(rule, "re-prioritised")
    updated = [rule.model_copy(update={"Priority": changes[rule.RuleArn]}) for rule in rules]
    _check_unique(ctx, updated)
    for rule in updated:
        ctx.tx.put(rule)
    return {"Rules": [rule.to_aws() for rule in updated]}


def _check_unique(ctx: Context, updated: list[Rule]) -> None:
    """No two rules of one listener may share a priority once the batch is applied."""
    moved = {rule.RuleArn for rule in updated}
    for listener_arn in {rule.listener_arn for rule in updated}:
        kept = [r.Priority for r in rules_of(ctx, listener_arn) if r.RuleArn not in moved]
        new = [r.Priority for r in updated if r.listener_arn == listener_arn]
        if set(kept) & set(new):
            raise _priority_in_use()


