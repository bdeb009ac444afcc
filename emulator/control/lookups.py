"""Shared reads of the store: find-or-raise for each resource, and the derived relations between them.

A target group's load balancers are derived, never stored: every listener keeps its default actions as a
stored default ``Rule``, so scanning rules finds every listener or rule that forwards to a target group.
"""

from __future__ import annotations

from collections.abc import Iterable

from api_models.resources import Action, Listener, LoadBalancer, Rule, TargetGroup
from api_models.trust_stores import TrustStore
from emulator.control.context import Context
from emulator.errors import AwsError


def load_balancer_or_error(ctx: Context, arn: str) -> LoadBalancer:
    found = ctx.tx.get(LoadBalancer, arn)
    if found is None:
        raise AwsError("LoadBalancerNotFound", "One or more load balancers not found")
    return found


def target_group_or_error(ctx: Context, arn: str) -> TargetGroup:
    found = ctx.tx.get(TargetGroup, arn)
    if found is None:
        raise AwsError("TargetGroupNotFound", "One or more target groups not found")
    return found


def listener_or_error(ctx: Context, arn: str) -> Listener:
    found = ctx.tx.get(Listener, arn)
    if found is None:
        raise AwsError("ListenerNotFound", "One or more listeners not found")
    return found


def rule_or_error(ctx: Context, arn: str) -> Rule:
    found = ctx.tx.get(Rule, arn)
    if found is None:
        raise AwsError("RuleNotFound", "One or more rules not found")
    return found


def trust_store_or_error(ctx: Context, arn: str) -> TrustStore:
    found = ctx.tx.get(TrustStore, arn)
    if found is None:
        raise AwsError("TrustStoreNotFound", f"Trust store '{arn}' not found")  # wording inferred
    return found


def listeners_of(ctx: Context, load_balancer_arn: str) -> list[Listener]:
    return [listener for listener in ctx.tx.all(Listener) if listener.LoadBalancerArn == load_balancer_arn]


def rules_of(ctx: Context, listener_arn: str) -> list[Rule]:
    """A listener's rules in evaluation order: numbered priorities ascending, the default rule last."""
    return sorted((r for r in ctx.tx.all(Rule) if r.listener_arn == listener_arn), key=lambda r: r.priority_number)


def default_rule(ctx: Context, listener_arn: str) -> Rule:
    return next(rule for rule in rules_of(ctx, listener_arn) if rule.IsDefault)


def forwarded_target_groups(actions: Iterable[Action]) -> list[str]:
    """ARNs of the target groups a list of (normalised) actions forwards to."""
    arns: list[str] = []
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": action.get("TargetGroupArn")}]
        arns += [g["TargetGroupArn"] for g in groups if g.get("TargetGroupArn") and g["TargetGroupArn"] not in arns]
    return arns


def load_balancers_of_target_group(ctx: Context, target_group_arn: str) -> list[str]:
    """ARNs of the load balancers whose listeners or rules forward to the target group."""
    arns: list[str] = []
    for rule in ctx.tx.all(Rule):
        if target_group_arn not in forwarded_target_groups(rule.Actions):
            continue
        listener = ctx.tx.get(Listener, rule.listener_arn)
        if listener is not None and listener.LoadBalancerArn not in arns:
            arns.append(listener.LoadBalancerArn)
    return arns
