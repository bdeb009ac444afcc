"""The request stages of an ALB listener, each compiled once per configuration with what it needs.

Their order is ``chain.REQUEST_ORDER``; each answers with a ``chain.outcomes`` value.
"""

from __future__ import annotations

from emulator.dataplane.alb.auth.authenticate import CALLBACK_PATH, Authenticate, authenticator_for
from emulator.dataplane.alb.auth.jwt_validation import JwtValidation
from emulator.dataplane.alb.desync import COMPLIANT, TIER_NAMES, classify, reason, verdict
from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.headers.forwarded import HeaderPolicy
from emulator.dataplane.alb.outcomes import GO_ON, Outcome
from emulator.dataplane.alb.responses import lb_response, redirect
from emulator.dataplane.alb.routing.actions import FixedResponse, Redirect
from emulator.dataplane.alb.routing.protocol_version import PROTOCOL_MISMATCH, mismatch
from emulator.dataplane.alb.routing.rules import RuleTable
from emulator.dataplane.selection.forward import Forward

_REJECTED = lb_response(400, close=True)
_TRACE = lb_response(405)
_NO_ACTION = lb_response(503)
_LAMBDA = lb_response(502)
_MISMATCH = lb_response(PROTOCOL_MISMATCH)
_NO_TARGET = lb_response(503)
_TOO_MANY_XFF = lb_response(463)


class RequestValidation:
    """Request validation: ALB answers TRACE with 405. Then desync classification
    (``routing.http.desync_mitigation_mode``, "Desync mitigation mode" in the ALB user guide): Severe requests
    (and, in strictest mode, Ambiguous ones) are refused with 400 and the connection closes; Ambiguous ones
    are forwarded with neither connection reused. HTTP/2 frames its messages itself: nothing to classify;
    neither is anything in ``monitor`` mode."""

    __slots__ = ("mode",)

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def run(self, ctx: Exchange) -> Outcome:
        request = ctx.request
        if request.method == "TRACE":
            return _TRACE
        if request.http2 or (self.mode == "monitor" and ctx.record is None):  # (observed: classified and logged)
            return GO_ON
        tier = classify(request, ctx.http10)
        if tier == COMPLIANT:  # nearly every request
            return GO_ON
        record = ctx.record
        if record is not None:  # AWS logs the tier, with the reason, for every request that is not Compliant
            record.classification = TIER_NAMES[tier]
            record.classification_reason = reason(request, ctx.http10)
        decision = verdict(self.mode, tier)
        if decision == "reject":
            return _REJECTED
        if decision == "forward-close":
            ctx.keep_alive = False
            ctx.ambiguous = True
        return GO_ON


class LoginCallback:
    """``/oauth2/idpresponse``: the IdP sends the browser back to the authenticate action that started the
    login; the LB exchanges the code (a wait) and answers with the session cookie and a redirect."""

    __slots__ = ("authenticators",)

    def __init__(self, authenticators: list[Authenticate]) -> None:
        self.authenticators = authenticators

    def run(self, ctx: Exchange) -> Outcome:
        request = ctx.request
        if request.path != CALLBACK_PATH:
            return GO_ON
        auth = authenticator_for(request, self.authenticators)
        if ctx.record is not None:
            ctx.record.executed("authenticate")
        return lb_response(401) if auth is None else auth.complete_login(request)


class RuleRouting:
    """The listener's rules in priority order, the default rule last; then the matching rule's transforms
    (host-header-rewrite, url-rewrite)."""

    __slots__ = ("table",)

    def __init__(self, table: RuleTable) -> None:
        self.table = table

    def run(self, ctx: Exchange) -> Outcome:
        action, transform, priority = self.table.route(ctx.request)
        if transform is not None:
            transform.apply(ctx.request)
        ctx.action = action
        if ctx.record is not None:
            ctx.record.matched_rule_priority = priority
        return GO_ON


class RuleAuthentication:
    """The rule's authenticate-oidc / authenticate-cognito or jwt-validation action, before its terminal one."""

    __slots__ = ()

    def run(self, ctx: Exchange) -> Outcome:
        action = ctx.action
        if isinstance(action, (Authenticate, JwtValidation)):
            ctx.action = action.terminal
            if ctx.record is not None:  # (AWS's name for an authenticate action; jwt-validation's own name)
                ctx.record.executed("authenticate" if isinstance(action, Authenticate)
                                                   else "jwt-validation")
            return action.check(ctx)
        return GO_ON


class TerminalAction:
    """fixed-response and redirect answer here; forward goes on to target selection; a rule whose target
    groups are gone answers 503."""

    __slots__ = ("protocol", "port")

    def __init__(self, protocol: str, port: int) -> None:
        self.protocol, self.port = protocol, port

    def run(self, ctx: Exchange) -> Outcome:
        action = ctx.action
        record = ctx.record
        if isinstance(action, Forward):
            if record is not None and record.wanted:  # (only logs show it)
                record.executed("forward")
            return GO_ON
        if isinstance(action, FixedResponse):
            if record is not None:
                record.executed("fixed-response")
            return action.response
        if isinstance(action, Redirect):
            if record is None:
                return action.response(ctx.request, self.protocol, self.port)
            location = action.location(ctx.request, self.protocol, self.port)
            record.executed("redirect")
            record.redirect_url = location
            return redirect(action.status, location)
        return _NO_ACTION


class TargetSelection:
    """The forward action's target group and target (``selection.forward``), checked against the group: a
    Lambda group goes on to the Lambda leg (``chain.lambda_leg``), or answers 502 when no runtime invokes
    functions; a protocol-version mismatch answers 464 (AWS "HTTP 464"), no routable target 503."""

    __slots__ = ("invokes_lambda",)

    def __init__(self, invokes_lambda: bool = False) -> None:
        self.invokes_lambda = invokes_lambda

    def run(self, ctx: Exchange) -> Outcome:
        request, action = ctx.request, ctx.action
        if not isinstance(action, Forward):  # (TerminalAction lets only forward actions on)
            return _NO_ACTION
        selection = action.select(request)
        group = selection.group
        if group.invokes_lambda:
            if not self.invokes_lambda:
                return _LAMBDA
            if selection.target is not None:  # (released by ``Exchange.release``, as for any target)
                selection.target.outstanding += 1
            ctx.selection = selection  # the Lambda leg invokes the group's function
            return GO_ON
        if (request.http2 or group.http2) and mismatch(request, group.group.ProtocolVersion):
            return _MISMATCH
        target = selection.target
        if target is None:
            return _NO_TARGET
        target.outstanding += 1  # released by ``Exchange.release``
        ctx.selection = selection
        if ctx.record is not None:  # (RequestCount counts the requests for which a target was chosen)
            ctx.record.target_group_arn = group.group.TargetGroupArn
        return GO_ON


class UpstreamLeg:
    """The forward decision: the request head the selected target receives (``headers.HeaderPolicy``)."""

    __slots__ = ("policy",)

    def __init__(self, policy: HeaderPolicy) -> None:
        self.policy = policy

    def run(self, ctx: Exchange) -> Outcome:
        selection = ctx.selection
        assert selection is not None and selection.target is not None  # (TargetSelection chose it)
        head = self.policy.build(ctx, selection.target.endpoint, selection.group.http2)
        return _TOO_MANY_XFF if head is None else head
