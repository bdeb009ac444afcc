"""Validation and normalisation of listener/rule actions, stored exactly as AWS echoes them (API Reference: Action).

AWS fills in what the caller left out: a forward action gets a ``ForwardConfig`` with ``Weight: 1`` and
``TargetGroupStickinessConfig.Enabled: false``; a redirect keeps the request's parts as ``#{protocol}``,
``#{port}``, ``#{host}``, ``/#{path}`` and ``#{query}``; authenticate actions get their documented defaults.
"""

from __future__ import annotations

import re
from typing import Any

from api_models.resources import Action, LoadBalancer, TargetGroup
from emulator.control import limits
from emulator.control.context import Context
from emulator.control.jwt_validation import normalise_jwt_validation
from emulator.control.lookups import load_balancers_of_target_group
from emulator.errors import AwsError, validation_error

TERMINAL = ("forward", "redirect", "fixed-response")
AUTHENTICATE = {"authenticate-oidc": "AuthenticateOidcConfig", "authenticate-cognito": "AuthenticateCognitoConfig"}
_CONTENT_TYPES = ("text/plain", "text/css", "text/html", "application/javascript", "application/json")
_AUTH_DEFAULTS = {
    "SessionCookieName": "AWSELBAuthSessionCookie", "Scope": "openid",
    "SessionTimeout": 604800, "OnUnauthenticatedRequest": "authenticate",
}
# NLB listener protocol -> target group protocols it may forward to (IncompatibleProtocols otherwise).
_NLB_PAIRS = {
    "TCP": ("TCP", "TCP_UDP"), "TLS": ("TCP", "TLS"), "UDP": ("UDP", "TCP_UDP"), "TCP_UDP": ("TCP_UDP",),
    "QUIC": ("QUIC", "TCP_QUIC"), "TCP_QUIC": ("TCP_QUIC",),
}
# Redirect component -> the placeholders it may contain.
_PLACEHOLDERS = {
    "Protocol": {"protocol"}, "Port": {"port"}, "Host": {"host"},
    "Path": {"host", "port", "path"}, "Query": {"protocol", "host", "port", "path", "query"},
}
_REDIRECT_DEFAULTS = {"Protocol": "#{protocol}", "Port": "#{port}", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}"}


def normalise_actions(ctx: Context, actions: list[Action] | None, lb: LoadBalancer, protocol: str | None) -> list[Action]:
    """The actions as AWS stores and echoes them, after every check AWS makes; ``protocol`` is the listener's."""
    if not actions:
        raise validation_error("At least one action must be specified")  # wording inferred
    ordered = _in_order(actions)
    _check_sequence(ordered, lb, protocol)
    return [_normalise(ctx, action, lb, protocol) for action in ordered]


def _in_order(actions: list[Action]) -> list[Action]:
    if len(actions) > 1:
        orders = [action.get("Order") for action in actions]
        if None in orders:
            raise validation_error("An action order must be specified when there are multiple actions")  # wording inferred
        if len(set(orders)) != len(orders):
            raise validation_error("Action order values must be unique")  # wording inferred
    return sorted(actions, key=lambda action: action.get("Order", 0))


def _check_sequence(actions: list[Action], lb: LoadBalancer, protocol: str | None) -> None:
    """Exactly one terminal action, run last, optionally preceded by one authenticate action."""
    types = [action["Type"] for action in actions]
    if lb.Type in ("network", "gateway"):
        if types != ["forward"]:
            raise AwsError(
                "InvalidLoadBalancerAction", f"Load balancers of type '{lb.Type}' support exactly one action of type 'forward'"
            )  # wording inferred
        return
    if len(types) > 2:
        raise AwsError("TooManyActions", "A rule can only have one authenticate action and one terminal action")  # wording inferred
    if types[-1] not in TERMINAL or any(t in TERMINAL for t in types[:-1]):
        raise AwsError(
            "InvalidLoadBalancerAction",
            "Exactly one 'forward', 'redirect' or 'fixed-response' action must be specified, and it must be the last action",
        )  # wording inferred
    if len(types) == 2 and protocol != "HTTPS":
        raise AwsError("InvalidLoadBalancerAction", "Authenticate actions are supported only on HTTPS listeners")  # wording inferred


def _normalise(ctx: Context, action: Action, lb: LoadBalancer, protocol: str | None) -> Action:
    kind = action["Type"]
    base: Action = {"Type": kind} | ({"Order": action["Order"]} if "Order" in action else {})
    if kind == "forward":
        return base | _forward(ctx, action, lb, protocol)
    config_name = AUTHENTICATE.get(kind) or {
        "redirect": "RedirectConfig", "fixed-response": "FixedResponseConfig", "jwt-validation": "JwtValidationConfig"
    }[kind]
    config = action.get(config_name)
    if config is None:
        raise validation_error(f"A '{config_name}' must be specified with the '{kind}' action type")  # wording inferred
    if kind == "redirect":
        return base | {config_name: _redirect(config, protocol)}
    if kind == "fixed-response":
        return base | {config_name: _fixed_response(config)}
    if kind in AUTHENTICATE:
        return base | {config_name: _AUTH_DEFAULTS | config}
    return base | {config_name: normalise_jwt_validation(config)}


def _forward(ctx: Context, action: Action, lb: LoadBalancer, protocol: str | None) -> Action:
    arn = action.get("TargetGroupArn")
    config = action.get("ForwardConfig") or {}
    groups = config.get("TargetGroups") or []
    if not groups:
        if not arn:
            raise validation_error("A target group ARN must be specified for a 'forward' action")  # wording inferred
        groups = [{"TargetGroupArn": arn}]
    if any(not g.get("TargetGroupArn") for g in groups):
        raise validation_error("A target group ARN must be specified for each target group of a forward config")  # wording inferred
    if arn and [g["TargetGroupArn"] for g in groups] != [arn]:
        raise validation_error("You cannot specify a target group ARN and a forward config with different target groups")  # wording inferred
    limits.check_target_groups_per_action(lb, len(groups))
    if len({g["TargetGroupArn"] for g in groups}) != len(groups):
        raise validation_error("A target group can only be specified once in a forward action")  # wording inferred
    for group in groups:
        _check_target_group(ctx, group["TargetGroupArn"], lb, protocol)
    stickiness = config.get("TargetGroupStickinessConfig") or {}
    if stickiness.get("Enabled") and "DurationSeconds" not in stickiness:
        raise validation_error("A stickiness duration must be specified when target group stickiness is enabled")  # wording inferred
    weighted = [{"TargetGroupArn": g["TargetGroupArn"], "Weight": g.get("Weight", 1)} for g in groups]
    forward: Action = {"ForwardConfig": {
        "TargetGroups": weighted,
        "TargetGroupStickinessConfig": {"Enabled": False} | stickiness,
    }}
    return ({"TargetGroupArn": weighted[0]["TargetGroupArn"]} | forward) if len(weighted) == 1 else forward


def _check_target_group(ctx: Context, arn: str, lb: LoadBalancer, protocol: str | None) -> None:
    tg = ctx.tx.get(TargetGroup, arn)
    if tg is None:
        raise AwsError("TargetGroupNotFound", f"Target group '{arn}' not found")
    if not _compatible(lb.Type, protocol, tg):
        listener = f"listener protocol '{protocol}'" if protocol else "gateway load balancer listeners"
        raise AwsError(
            "IncompatibleProtocols",
            f"The target group '{arn}' with protocol '{tg.Protocol or tg.TargetType}' is not compatible with {listener}",
        )  # wording inferred
    others = [a for a in load_balancers_of_target_group(ctx, arn) if a != lb.LoadBalancerArn]
    if others:
        raise AwsError(
            "TargetGroupAssociationLimit",
            f"The following target groups cannot be associated with more than one load balancer: {arn}",
        )


def _compatible(lb_type: str, protocol: str | None, tg: TargetGroup) -> bool:
    """Listener -> target group pairs AWS allows (User Guides, "Target groups for your
    Application Load Balancers" / "... Network Load Balancers": protocols per listener)."""
    if lb_type == "application":
        return tg.TargetType == "lambda" or tg.Protocol in ("HTTP", "HTTPS")
    if lb_type == "gateway":
        return tg.Protocol == "GENEVE"
    if tg.TargetType == "alb":
        return protocol == "TCP"
    return tg.Protocol in _NLB_PAIRS.get(protocol or "", ())


def _redirect(config: dict[str, Any], protocol: str | None) -> dict[str, Any]:
    redirect = {part: config.get(part, default) for part, default in _REDIRECT_DEFAULTS.items()}
    redirect["StatusCode"] = config["StatusCode"]
    if protocol == "HTTPS" and redirect["Protocol"] == "HTTP":
        raise AwsError("InvalidLoadBalancerAction", "You cannot redirect HTTPS to HTTP")  # [D] redirect actions
    for part, allowed in _PLACEHOLDERS.items():
        for name in re.findall(r"#\{(\w*)\}", redirect[part]):
            if name not in allowed:
                raise validation_error(f"The placeholder '#{{{name}}}' cannot be used in the redirect {part.lower()}")  # wording inferred
    port = redirect["Port"]
    if port != "#{port}" and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise validation_error(f"The redirect port '{port}' must be '#{{port}}' or between '1-65535' inclusive")  # wording inferred
    if not redirect["Path"].startswith("/"):
        raise validation_error("The redirect path must start with a '/'")  # wording inferred
    if redirect["Query"].startswith("?"):
        raise validation_error("The redirect query must not start with a '?'")  # wording inferred
    if all(redirect[p] == _REDIRECT_DEFAULTS[p] for p in ("Protocol", "Port", "Host", "Path")):
        raise AwsError(
            "InvalidLoadBalancerAction",
            "The redirect must change at least one of the protocol, port, host or path, or it would loop",
        )  # wording inferred
    return redirect


def _fixed_response(config: dict[str, Any]) -> dict[str, Any]:
    if not re.fullmatch(r"(2|4|5)\d\d", config["StatusCode"]):
        raise validation_error(
            f"1 validation error detected: Value '{config['StatusCode']}' at 'actions.member.fixedResponseConfig.statusCode' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$"
        )
    if "ContentType" in config and config["ContentType"] not in _CONTENT_TYPES:
        raise AwsError(
            "InvalidLoadBalancerAction",
            "The ContentType must be one of:'text/html', 'application/json', 'application/javascript', 'text/css', 'text/plain'",
        )
    return dict(config)
