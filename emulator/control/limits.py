"""Enforcement of AWS's default quotas (values from ``api_models.quotas``, the one place they are written).

Each check runs before the handler's first write and counts what the store holds in the caller's account
and region, as AWS counts per account and region. Error codes are the ones the elbv2 service model defines;
the messages are the emulator's own wording (marked ``# wording inferred``, see ``emulator.errors``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from api_models.quotas import quota
from api_models.resources import Action, LoadBalancer, Rule, TargetGroup, TargetRegistration
from emulator.control.context import Context
from emulator.control.lookups import forwarded_target_groups, listeners_of, load_balancers_of_target_group, rules_of
from emulator.errors import AwsError

# GWLB targets are limited per Availability Zone; the emulator's localhost counts as one zone (inferred).
_TARGETS_PER_LOAD_BALANCER = {
    "application": "targets-per-application-load-balancer",
    "network": "targets-per-network-load-balancer",
    "gateway": "targets-per-availability-zone-per-gateway-load-balancer",
}


def _per_type(name: str, lb_type: str) -> int:
    """``listeners-per-{type}-load-balancer`` and the like, ``type`` being the load balancer's Type."""
    return quota(name.format(type=lb_type))


def check_load_balancers(ctx: Context, lb_type: str) -> None:
    limit = _per_type("{type}-load-balancers", lb_type)
    if sum(1 for lb in ctx.tx.all(LoadBalancer) if lb.Type == lb_type) >= limit:
        raise AwsError("TooManyLoadBalancers", f"The quota for the number of {lb_type} load balancers ('{limit}') has been reached")  # wording inferred


def check_target_groups(ctx: Context, protocol: str | None) -> None:
    groups = ctx.tx.all(TargetGroup)
    limit = quota("target-groups")
    if len(groups) >= limit:
        raise AwsError("TooManyTargetGroups", f"The quota for the number of target groups ('{limit}') has been reached")  # wording inferred
    geneve_limit = quota("geneve-target-groups")
    if protocol == "GENEVE" and sum(1 for tg in groups if tg.Protocol == "GENEVE") >= geneve_limit:
        raise AwsError(
            "TooManyTargetGroups", f"The quota for the number of GENEVE target groups ('{geneve_limit}') has been reached"
        )  # wording inferred


def check_listeners(ctx: Context, lb: LoadBalancer) -> None:
    limit = _per_type("listeners-per-{type}-load-balancer", lb.Type)
    if len(listeners_of(ctx, lb.LoadBalancerArn)) >= limit:
        raise AwsError("TooManyListeners", f"A load balancer can have at most '{limit}' listeners")  # wording inferred


def _rules_of_load_balancer(ctx: Context, lb: LoadBalancer) -> list[Rule]:
    return [rule for listener in listeners_of(ctx, lb.LoadBalancerArn) for rule in rules_of(ctx, listener.ListenerArn)]


def check_rules(ctx: Context, lb: LoadBalancer) -> None:
    """Default rules don't count ("Rules per Application Load Balancer (excluding default rules)")."""
    limit = quota("rules-per-application-load-balancer")
    if sum(1 for rule in _rules_of_load_balancer(ctx, lb) if not rule.IsDefault) >= limit:
        raise AwsError("TooManyRules", f"A load balancer can have at most '{limit}' rules")  # wording inferred


def check_target_groups_per_action(lb: LoadBalancer, count: int) -> None:
    limit = _per_type("target-groups-per-action-on-{type}-load-balancer", lb.Type)
    if count > limit:
        raise AwsError("TooManyTargetGroups", f"A forward action can have at most '{limit}' target groups")  # wording inferred


def check_unique_target_groups(ctx: Context, lb: LoadBalancer, actions: Iterable[Action], replaced_rule: str | None) -> None:
    """All the load balancer's rules, with ``replaced_rule`` given ``actions``, forward to at most 100 groups."""
    limit = quota("target-groups-per-application-load-balancer")
    arns = set(forwarded_target_groups(actions))
    for rule in _rules_of_load_balancer(ctx, lb):
        if rule.RuleArn != replaced_rule:
            arns.update(forwarded_target_groups(rule.Actions))
    if len(arns) > limit:
        raise AwsError(
            "TooManyUniqueTargetGroupsPerLoadBalancer",
            f"A load balancer can forward to at most '{limit}' unique target groups",
        )  # wording inferred


def check_targets(ctx: Context, tg: TargetGroup, new: list[tuple[str, int | None]]) -> None:
    """Targets per target group, per load balancer, and registrations of one Id per ALB, with ``new`` added."""
    if not new:
        return
    live = [r for r in ctx.tx.all(TargetRegistration) if r.deregistered_at is None]
    limit = quota("targets-per-target-group")
    if sum(1 for r in live if r.target_group_arn == tg.TargetGroupArn) + len(new) > limit:
        raise AwsError("TooManyTargets", f"A target group can have at most '{limit}' targets")  # wording inferred
    for lb_arn in load_balancers_of_target_group(ctx, tg.TargetGroupArn):
        lb = ctx.tx.get(LoadBalancer, lb_arn)
        if lb is not None:
            _check_load_balancer_targets(ctx, lb, live, new)


def _check_load_balancer_targets(
    ctx: Context, lb: LoadBalancer, live: list[TargetRegistration], new: list[tuple[str, int | None]]
) -> None:
    groups = _target_groups_of(ctx, lb)
    registered = [r for r in live if r.target_group_arn in groups]
    if lb.Type == "application":
        # Before the total: with both quotas at 1000, one Id registered 1001 times must name this error.
        _check_registrations_per_id(registered, new)
    limit = quota(_TARGETS_PER_LOAD_BALANCER[lb.Type])
    if len(registered) + len(new) > limit:
        raise AwsError("TooManyTargets", f"A load balancer can have at most '{limit}' targets")  # wording inferred


def _check_registrations_per_id(registered: list[TargetRegistration], new: list[tuple[str, int | None]]) -> None:
    limit = quota("target-id-registrations-per-application-load-balancer")
    counts = Counter(r.Id for r in registered) + Counter(target_id for target_id, _ in new)
    for target_id in {target_id for target_id, _ in new}:
        if counts[target_id] > limit:
            raise AwsError(
                "TooManyRegistrationsForTargetId",
                f"The target '{target_id}' can be registered at most '{limit}' times per load balancer",
            )  # wording inferred


def _target_groups_of(ctx: Context, lb: LoadBalancer) -> set[str]:
    return {arn for rule in _rules_of_load_balancer(ctx, lb) for arn in forwarded_target_groups(rule.Actions)}


def check_tags(count: int) -> None:
    limit = quota("tags-per-resource")
    if count > limit:
        raise AwsError("TooManyTags", "The quota for the number of tags that can be assigned to a load balancer has been reached")  # wording inferred
