"""CreateListener, DescribeListeners, ModifyListener, DeleteListener.

A listener's default actions are also stored as its default ``Rule`` (Priority "default", no conditions),
which is what DescribeRules shows and what makes target-group associations derivable from rules alone;
Create and Modify keep the two in sync.
"""

from __future__ import annotations

from typing import Any

from api_models import identifiers as ids
from api_models.attributes import listener_defaults
from api_models.resources import Listener, LoadBalancer, Rule
from api_models.ssl_policies import DEFAULT_POLICY, SSL_POLICIES
from emulator.control import aws_services, limits, quic
from emulator.control.actions import normalise_actions
from emulator.control.context import Context, Request, Result, operation
from emulator.control.lookups import (
    default_rule,
    listener_or_error,
    listeners_of,
    load_balancer_or_error,
    rules_of,
    trust_store_or_error,
)
from emulator.control.paging import paginate
from emulator.control.tags import merge_tags
from emulator.errors import AwsError, validation_error

# A Gateway Load Balancer's listener has neither protocol nor port: it takes every IP packet (GWLB guide).
PROTOCOLS = {
    "application": ("HTTP", "HTTPS"), "network": ("TCP", "TLS", "UDP", "TCP_UDP", "QUIC", "TCP_QUIC"), "gateway": (None,),
}
SECURE = ("HTTPS", "TLS")
ALPN_POLICIES = ("HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None")
_SETTINGS = ("Port", "Protocol", "SslPolicy", "Certificates", "AlpnPolicy", "MutualAuthentication", "DefaultActions")


@operation("CreateListener")
def create_listener(ctx: Context, req: Request) -> Result:
    lb = load_balancer_or_error(ctx, req["LoadBalancerArn"])
    _check_port_and_protocol(lb, req)
    settings = _validated(ctx, lb, {name: req.get(name) for name in _SETTINGS})
    tags = merge_tags({}, req.get("Tags"))
    siblings = listeners_of(ctx, lb.LoadBalancerArn)
    existing = next((listener for listener in siblings if listener.Port == settings["Port"]), None)
    if existing is not None:
        # Idempotent for identical settings (API Reference, CreateListener), DuplicateListener otherwise.
        if {name: getattr(existing, name) for name in _SETTINGS} != settings:
            raise AwsError("DuplicateListener", "A listener with the specified port already exists.")
        return {"Listeners": [existing.to_aws()]}
    limits.check_listeners(ctx, lb)
    quic.check_listener(lb, settings["Protocol"], siblings)
    _check_fips_mix(ctx, lb, settings["SslPolicy"], listener_arn=None)
    limits.check_unique_target_groups(ctx, lb, settings["DefaultActions"], replaced_rule=None)
    _check_bindable(ctx, lb, settings, held=None)
    arn = ids.listener_arn(lb.LoadBalancerArn, ids.new_id())
    listener = Listener(
        account=ctx.account, region=ctx.region, tags=tags, ListenerArn=arn, LoadBalancerArn=lb.LoadBalancerArn,
        attributes=listener_defaults(settings["Protocol"]), **settings,
    )
    ctx.tx.put(listener)
    ctx.tx.put(Rule(
        account=ctx.account, region=ctx.region, RuleArn=ids.rule_arn(arn, ids.new_id()), Priority="default",
        Conditions=[], Actions=settings["DefaultActions"], IsDefault=True, listener_arn=arn,
    ))
    return {"Listeners": [listener.to_aws()]}


def _check_port_and_protocol(lb: LoadBalancer, req: Request) -> None:
    """Required for ALB and NLB listeners; refused for GWLB ones (API reference, CreateListener)."""
    for member in ("Port", "Protocol"):
        given = req.get(member) is not None
        if lb.Type == "gateway" and given:
            raise validation_error(f"A {member.lower()} cannot be specified for gateway listeners")  # moto's wording
        if lb.Type != "gateway" and not given:
            raise validation_error(f"A listener {member.lower()} must be specified")


def _check_bindable(ctx: Context, lb: LoadBalancer, settings: dict[str, Any], held: Listener | None) -> None:
    """A port the emulator cannot bind (taken with --listen-host, where all LBs share one address; no port at
    all; with --listener-ports, no port of the range left) has no AWS counterpart: answered as the API reference's InvalidConfigurationRequest (CreateListener,
    "The requested configuration is not valid", HTTP 400) rather than a listener that never listens."""
    held_protocol = held.Protocol if held is not None and held.Port == settings["Port"] else None
    reason = ctx.services.ports.refusal(lb.address, settings["Port"], settings["Protocol"], held_protocol,
                                        creating=held is None)
    if reason is not None:
        raise AwsError("InvalidConfigurationRequest", f"The emulator cannot listen on port {settings['Port']}: {reason}")


def _validated(ctx: Context, lb: LoadBalancer, settings: dict[str, Any]) -> dict[str, Any]:
    """Complete, checked listener settings; plain protocols carry no SslPolicy or Certificates."""
    protocol = settings["Protocol"]
    if protocol not in PROTOCOLS[lb.Type]:
        raise AwsError("UnsupportedProtocol", f"Protocol '{protocol}' is not supported for load balancers of type '{lb.Type}'")  # wording inferred
    secure = protocol in SECURE
    return {
        "Port": settings["Port"],
        "Protocol": protocol,
        "SslPolicy": _ssl_policy(settings["SslPolicy"], lb) if secure else None,
        "Certificates": _certificates(ctx, protocol, settings["Certificates"]) if secure else None,
        "AlpnPolicy": _alpn(protocol, settings["AlpnPolicy"]),
        "MutualAuthentication": _mutual_authentication(ctx, settings["MutualAuthentication"]) if protocol == "HTTPS" else None,
        "DefaultActions": normalise_actions(ctx, settings["DefaultActions"], lb, protocol),
    }


def _ssl_policy(policy: str | None, lb: LoadBalancer) -> str:
    """A predefined policy the load balancer's type supports. Every policy AWS lists today supports both ALBs
    and NLBs (api_models.ssl_policies), so the type check guards the table rather than answering in practice."""
    if policy is None:
        return DEFAULT_POLICY
    found = SSL_POLICIES.get(policy)
    if found is None or lb.Type not in found.load_balancer_types:
        raise AwsError("SSLPolicyNotFound", f"SSL policy '{policy}' not found")  # wording inferred
    return policy


def _check_fips_mix(ctx: Context, lb: LoadBalancer, policy: str | None, listener_arn: str | None) -> None:
    """The ALB guide ("FIPS security policies"): "All secure listeners attached to an Application Load Balancer
    must use either FIPS security policies or non-FIPS security policies; they cannot be mixed". The NLB guide
    states no such rule, so NLBs may mix."""
    if lb.Type != "application" or policy is None:
        return
    fips = SSL_POLICIES[policy].fips
    for other in listeners_of(ctx, lb.LoadBalancerArn):
        theirs = SSL_POLICIES.get(other.SslPolicy or "")
        if other.ListenerArn != listener_arn and theirs is not None and theirs.fips != fips:
            raise AwsError(  # code and wording inferred: the guide states the rule, not the answer
                "InvalidConfigurationRequest",
                f"Security policy '{policy}' cannot be used with '{other.SslPolicy}' on listener {other.ListenerArn}: "
                "the secure listeners of an Application Load Balancer must all use FIPS policies or all non-FIPS ones",
            )


def _certificates(ctx: Context, protocol: str, certificates: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if not certificates or len(certificates) != 1:
        raise validation_error(f"You must provide a list containing exactly one certificate if the listener protocol is {protocol}.")
    arn = certificates[0].get("CertificateArn")
    if not arn:
        raise validation_error("A certificate ARN must be specified")  # wording inferred
    aws_services.require_certificate(ctx, arn)
    return [{"CertificateArn": arn}]


def _mutual_authentication(ctx: Context, settings: dict[str, Any] | None) -> dict[str, Any] | None:
    """``verify`` needs a trust store that exists and is ACTIVE (API_MutualAuthenticationAttributes)."""
    if not settings or settings.get("Mode") != "verify":
        return settings
    arn = settings.get("TrustStoreArn")
    if not arn:
        raise validation_error("A trust store ARN must be specified when the mutual authentication mode is 'verify'")  # wording inferred
    store = trust_store_or_error(ctx, arn)
    if store.Status != "ACTIVE":
        raise AwsError("TrustStoreNotReady", f"Trust store '{arn}' is not ready")  # wording inferred
    return settings


def _alpn(protocol: str, policy: list[str] | None) -> list[str] | None:
    if not policy:
        return None
    if protocol != "TLS":
        raise validation_error("An ALPN policy can only be specified for TLS listeners")  # wording inferred
    for name in policy:
        if name not in ALPN_POLICIES:
            raise AwsError("ALPNPolicyNotFound", f"ALPN policy '{name}' not found")  # wording inferred
    return policy


@operation("DescribeListeners")
def describe_listeners(ctx: Context, req: Request) -> Result:
    lb_arn, arns = req.get("LoadBalancerArn"), req.get("ListenerArns")
    if lb_arn and arns:
        raise validation_error("Listener ARNs and a load balancer ARN cannot be specified at the same time")  # wording inferred
    if arns:
        found = [listener_or_error(ctx, arn) for arn in arns]
    elif lb_arn:
        found = listeners_of(ctx, load_balancer_or_error(ctx, lb_arn).LoadBalancerArn)
    else:
        raise validation_error("You must specify either listener ARNs or a load balancer ARN")
    page, marker = paginate(found, req, key=lambda listener: (listener.Port or 0, listener.ListenerArn))
    return {"Listeners": [listener.to_aws() for listener in page], "NextMarker": marker}


@operation("ModifyListener")
def modify_listener(ctx: Context, req: Request) -> Result:
    """Omitted members stay; lists given replace the whole list (API Reference, ModifyListener)."""
    listener = listener_or_error(ctx, req["ListenerArn"])
    lb = load_balancer_or_error(ctx, listener.LoadBalancerArn)
    if lb.Type == "gateway":
        _check_port_and_protocol(lb, req)
    settings = _validated(ctx, lb, {name: req.get(name, getattr(listener, name)) for name in _SETTINGS})
    clash = any(
        other.Port == settings["Port"] and other.ListenerArn != listener.ListenerArn
        for other in listeners_of(ctx, lb.LoadBalancerArn)
    )
    if clash:
        raise AwsError("DuplicateListener", "A listener with the specified port already exists.")
    others = [other for other in listeners_of(ctx, lb.LoadBalancerArn) if other.ListenerArn != listener.ListenerArn]
    quic.check_listener(lb, settings["Protocol"], others)
    _check_fips_mix(ctx, lb, settings["SslPolicy"], listener.ListenerArn)
    rule = default_rule(ctx, listener.ListenerArn)
    limits.check_unique_target_groups(ctx, lb, settings["DefaultActions"], replaced_rule=rule.RuleArn)
    _check_bindable(ctx, lb, settings, held=listener)
    attributes = listener_defaults(settings["Protocol"])
    attributes |= {k: v for k, v in listener.attributes.items() if k in attributes}  # keep what still applies
    extra = listener.extra_certificates if settings["Protocol"] in SECURE else []
    updated = listener.model_copy(update=settings | {"attributes": attributes, "extra_certificates": extra})
    ctx.tx.put(updated)
    ctx.tx.put(rule.model_copy(update={"Actions": settings["DefaultActions"]}))
    return {"Listeners": [updated.to_aws()]}


@operation("DeleteListener")
def delete_listener(ctx: Context, req: Request) -> Result:
    remove_listener(ctx, listener_or_error(ctx, req["ListenerArn"]))
    return None


def remove_listener(ctx: Context, listener: Listener) -> None:
    """Delete a listener with all its rules (its target groups stay)."""
    for rule in rules_of(ctx, listener.ListenerArn):
        ctx.tx.delete(rule)
    ctx.tx.delete(listener)
