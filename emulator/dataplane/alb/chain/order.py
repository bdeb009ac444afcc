"""The one chain of stages every ALB request goes through, whatever it arrived on (an HTTP/1.x request, an
HTTP/2 stream, a WebSocket upgrade), in AWS's order of evaluation.

Models: Envoy's HTTP filter chain, LocalStack's handler chain. ``REQUEST_ORDER`` below is the order, written
once; ``Chain.compile`` keeps, per listener configuration, the stages that can do something for it. Adding a
stage = one class (``chain.stages``) + one line here.

AWS references: "Listener rules for your Application Load Balancer" (rules by priority, then the actions in
order: authenticate / jwt-validation before the terminal action), "Desync mitigation mode", "HTTP header
modification for your Application Load Balancer" (the response headers, applied on the way out), "How AWS WAF
works with Application Load Balancers" (the web ACL, before the listener's rules).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from api_models.lambda_invocation import LambdaInvoker
from emulator.dataplane.alb.auth.authenticate import Authenticate
from emulator.dataplane.alb.chain.lambda_leg import LambdaLeg
from emulator.dataplane.alb.chain.response import ListenerResponseHeaders, ResponseStage, StickinessCookies
from emulator.dataplane.alb.chain.stages import (
    LoginCallback,
    RequestValidation,
    RuleAuthentication,
    RuleRouting,
    TargetSelection,
    TerminalAction,
    UpstreamLeg,
)
from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.headers.forwarded import HeaderPolicy
from emulator.dataplane.alb.headers.response import ResponsePolicy
from emulator.dataplane.alb.heads import Headers, UpstreamRequest
from emulator.dataplane.alb.outcomes import Answer, Outcome, Stage
from emulator.dataplane.alb.recording import forwarded
from emulator.dataplane.alb.responses import LocalResponse, lb_response
from emulator.dataplane.alb.routing.rules import RuleTable

_UNDECIDED = lb_response(503)
StageRun = Callable[[Exchange], Outcome]
_background: set[asyncio.Task[None]] = set()  # stages waiting (IdP exchanges, JWKS fetches): the loop keeps weak refs


class Chain:
    """A listener configuration's compiled stages."""

    __slots__ = ("stages", "response_stages", "_runs", "_on_responses")

    def __init__(self, stages: tuple[Stage, ...], response_stages: tuple[ResponseStage, ...]) -> None:
        self.stages = stages
        self.response_stages = response_stages
        self._runs = tuple(stage.run for stage in stages)  # bound once: no attribute lookups per request
        self._on_responses = tuple(stage.on_response for stage in response_stages)

    @classmethod
    def compile(cls, *, protocol: str, port: int, table: RuleTable, authenticators: list[Authenticate],
                guarded: bool, cookies: bool, desync_mode: str, policy: HeaderPolicy,
                responses: ResponsePolicy, web_acl: Stage | None = None,
                lambdas: LambdaInvoker | None = None) -> Chain:
        """``guarded``: some rule has an authenticate or jwt-validation action; ``cookies``: some rule can
        set stickiness cookies; ``web_acl``: the load balancer's web ACL (``waf.acl.WebAcl``), if it has one;
        ``lambdas``: what invokes the functions of Lambda target groups (None: they answer 502)."""
        request_order: list[Stage | None] = [
            # 1. Connection admission (security groups, the connection cap): per connection, ``listener.admit``.
            # 2. Request validation and desync classification.
            RequestValidation(desync_mode),
            # 3. Web ACL (AWS WAF): its rules by priority, then its default action.
            web_acl,
            # 4. The listener's rules in priority order, then the matching rule's transforms.
            LoginCallback(authenticators) if authenticators else None,
            RuleRouting(table),
            # 5. The rule's authenticate / jwt-validation action, then its terminal action.
            RuleAuthentication() if guarded else None,
            TerminalAction(protocol, port),
            # 6. Target selection.
            TargetSelection(invokes_lambda=lambdas is not None),
            # 7. The Lambda leg (Lambda target groups), else the upstream leg.
            LambdaLeg(lambdas, policy) if lambdas is not None else None,
            UpstreamLeg(policy),
        ]
        response_order: list[ResponseStage | None] = [
            StickinessCookies() if cookies else None,
            ListenerResponseHeaders(responses) if responses.injected else None,  # routing.http.response.*
        ]
        return cls(tuple(stage for stage in request_order if stage is not None),
                   tuple(stage for stage in response_order if stage is not None))

    def run(self, ctx: Exchange, runs: tuple[StageRun, ...] | None = None) -> None:
        """Run the stages (or ``runs``, the rest of them) until one answers, and act on the answer."""
        record = ctx.record
        if record is not None and runs is None and record.wanted:
            ctx.recording.describe(record, ctx.request, ctx.http10, ctx.upgrade)
        for run in self._runs if runs is None else runs:
            outcome = run(ctx)
            if outcome is None:
                continue
            if isinstance(outcome, UpstreamRequest):
                if record is not None and record.wanted:
                    forwarded(record, ctx.selection, outcome)
                ctx.leg.forward(ctx, outcome)
            elif isinstance(outcome, LocalResponse):
                if record is not None:
                    record.elb_status_code = outcome.status
                ctx.leg.respond(ctx, outcome)
            else:  # a stage waits: the rest of the chain runs once it has answered GO_ON
                rest = self._runs[self._runs.index(run) + 1:]
                task = ctx.leg.loop.create_task(self._wait(ctx, outcome, rest))
                _background.add(task)
                task.add_done_callback(_background.discard)
            return
        ctx.leg.respond(ctx, _UNDECIDED)  # (the upstream leg always decides: only a partial chain gets here)

    async def _wait(self, ctx: Exchange, outcome: Awaitable[Answer], rest: tuple[StageRun, ...]) -> None:
        answer = await outcome
        leg = ctx.leg
        if leg.active is not ctx or leg.closing:  # the client went away meanwhile
            return
        record = ctx.record
        if answer is None:
            self.run(ctx, rest)
        elif isinstance(answer, LocalResponse):
            if record is not None:
                record.elb_status_code = answer.status
            leg.respond(ctx, answer)
        else:
            if record is not None and record.wanted:
                forwarded(record, ctx.selection, answer)
            leg.forward(ctx, answer)

    def on_response(self, ctx: Exchange, headers: Headers) -> Headers:
        """A target's response head on its way out (the legs call this only when ``response_stages``)."""
        for on_response in self._on_responses:
            headers = on_response(ctx, headers)
        return headers
