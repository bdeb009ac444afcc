"""A web ACL compiled once per configuration, and the chain stage that evaluates it for every request.

Evaluation ("How AWS WAF processes a web ACL"): rules in ascending Priority; a matching rule adds its
RuleLabels, then its action: Allow / Block end the evaluation, Count (and CAPTCHA / Challenge with a token)
go on; with no terminating match, the DefaultAction decides. A RuleGroupReferenceStatement evaluates the
group's rules (its labels in the "awswaf:<account>:rulegroup:<name>:" namespace) with the reference's
ExcludedRules (as Count) and RuleActionOverrides applied, and the rule's OverrideAction Count turns the group's
terminating match into a count.

Body and JsonBody: when the web ACL inspects the body, the stage waits (woken by the client leg as the body
arrives, ``Exchange.body_arrived``; at most ``BODY_WAIT``) until the request body has ended or more than 8 KB
of it has arrived, then evaluates; a body
still incomplete after ``BODY_WAIT`` is inspected as far as it arrived. A request with ``Expect: 100-continue``
is evaluated at once, with an empty body (its client sends the body only after the 100 response).

A web ACL that uses something this emulator does not evaluate (``UnsupportedDefinition``: e.g. an SQLi / XSS
statement) fails closed: every request is blocked with 403, and one log line names the part. With the load
balancer's ``waf.fail_open.enabled`` ("allow a WAF-enabled load balancer to route requests to targets if it is
unable to forward the request to AWS WAF") it fails open instead: such requests go on to the rules unfiltered.
ManagedRuleGroupStatements evaluate nothing (AWS's managed rules are not emulated): logged once per
configuration; the rest of the web ACL applies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from api_models.web_acls import WebAclView
from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.outcomes import GO_ON, Answer, Outcome
from emulator.dataplane.alb.responses import lb_response
from emulator.dataplane.alb.waf.actions import ALLOW, BLOCK, COUNT, TOKEN_COOKIE, Action, compile_action
from emulator.dataplane.alb.waf.fields import BODY_LIMIT, Inspection
from emulator.dataplane.alb.waf.records import write_record
from emulator.dataplane.alb.waf.statements import Context, Statement, compile_statement
from emulator.dataplane.alb.waf.transforms import UnsupportedDefinition

log = logging.getLogger("elbv2_emulator.waf")
_FAIL_CLOSED = lb_response(403)
_NEVER: Statement = lambda inspection: False  # noqa: E731
BODY_WAIT = 1.0


class Rule:
    __slots__ = ("name", "statement", "action", "labels", "group", "count_group")

    def __init__(self, name: str, statement: Statement, action: Action | None, labels: tuple[str, ...],
                 group: tuple[Rule, ...] | None = None, count_group: bool = False) -> None:
        self.name, self.statement, self.action, self.labels = name, statement, action, labels
        self.group, self.count_group = group, count_group


class Verdict:
    """What evaluating the rules decided: the terminating rule and action (None: the default action), the
    request headers to insert, the rules that counted."""

    __slots__ = ("rule", "action", "insert", "counted")

    def __init__(self) -> None:
        self.rule: str | None = None
        self.action: Action | None = None
        self.insert: dict[bytes, bytes] = {}
        self.counted: list[str] = []


def _evaluate(rules: tuple[Rule, ...], inspection: Inspection, verdict: Verdict) -> bool:
    """Run ``rules``; True once one terminates (``verdict.rule``/``action`` set)."""
    for rule in rules:
        if rule.group is not None:
            if _evaluate(rule.group, inspection, verdict):
                if not rule.count_group:
                    return True
                verdict.counted.append(verdict.rule or rule.name)
                verdict.rule = verdict.action = None
            continue
        if not rule.statement(inspection):
            continue
        if rule.labels:
            inspection.labels.extend(rule.labels)
        action = rule.action
        assert action is not None
        kind = action.kind
        if kind == ALLOW or kind == BLOCK:
            if action.insert:
                verdict.insert.update(action.insert)  # same name: the last matching rule's header wins (AWS)
            verdict.rule, verdict.action = rule.name, action
            return True
        if kind != COUNT and inspection.request.cookie(TOKEN_COOKIE) is None:  # CAPTCHA / Challenge, no token
            verdict.rule, verdict.action = rule.name, action
            return True
        if action.insert:
            verdict.insert.update(action.insert)
        verdict.counted.append(rule.name)
    return False


def _labels(rule: dict[str, Any], namespace: str) -> tuple[str, ...]:
    names = [str(label.get("Name", "")) for label in rule.get("RuleLabels") or ()]
    return tuple(name if name.startswith("awswaf:") else namespace + name for name in names)


def _rules(specs: list[dict[str, Any]], ctx: Context, bodies: dict[str, Any],
           overrides: dict[str, dict[str, Any]] | None = None) -> tuple[Rule, ...]:
    compiled = []
    for spec in sorted(specs, key=lambda rule: int(rule.get("Priority") or 0)):
        name, statement = str(spec.get("Name", "")), spec.get("Statement") or {}
        if "RuleGroupReferenceStatement" in statement:
            compiled.append(_group_rule(name, statement["RuleGroupReferenceStatement"] or {}, spec, ctx))
            continue
        if "ManagedRuleGroupStatement" in statement:
            managed = statement["ManagedRuleGroupStatement"] or {}
            ctx.notes.append(f"rule {name}: managed rule group {managed.get('VendorName')}/{managed.get('Name')} "
                             "is not emulated, its rules never match")
            compiled.append(Rule(name, _NEVER, Action(COUNT), ()))
            continue
        action_spec = (overrides or {}).get(name) or spec.get("Action")
        compiled.append(Rule(name, compile_statement(statement, ctx), compile_action(action_spec, bodies),
                             _labels(spec, ctx.namespace)))
    return tuple(compiled)


def _group_rule(name: str, reference: dict[str, Any], spec: dict[str, Any], ctx: Context) -> Rule:
    group = ctx.document.get("RuleGroups", {}).get(reference.get("ARN"))
    if group is None:
        raise UnsupportedDefinition(f"rule group {reference.get('ARN')} (it does not exist)")
    account = ctx.namespace.split(":")[1]
    group_ctx = Context(ctx.document, f"awswaf:{account}:rulegroup:{group.get('Name', '')}:", ctx.window_scale,
                        ctx.notes)
    overrides: dict[str, dict[str, Any]] = {str(excluded.get("Name")): {"Count": {}} for excluded in reference.get("ExcludedRules") or ()}
    for override in reference.get("RuleActionOverrides") or ():
        overrides[str(override.get("Name"))] = override.get("ActionToUse") or {}
    rules = _rules(list(group.get("Rules") or ()), group_ctx, group.get("CustomResponseBodies") or {}, overrides)
    return Rule(name, _NEVER, None, (), rules, count_group="Count" in (spec.get("OverrideAction") or {}))


class WebAcl:
    """The chain stage of a web ACL ("3. Web ACL" in ``chain.order``)."""

    __slots__ = ("arn", "rules", "default", "logging", "failed", "inspects_body", "on_failure")

    def __init__(self, view: WebAclView, fail_open: bool = False) -> None:
        self.arn = view.arn
        self.on_failure: Answer = GO_ON if fail_open else _FAIL_CLOSED  # waf.fail_open.enabled
        self.failed: str | None = None
        self.rules: tuple[Rule, ...] = ()
        self.default = Action(ALLOW)
        self.logging = False
        self.inspects_body = '"Body":' in view.document or '"JsonBody":' in view.document
        try:
            if not view.document:
                raise UnsupportedDefinition("a web ACL that could not be read from WAFv2")
            document = json.loads(view.document)
            ctx = Context(document, f"awswaf:{view.account}:webacl:{view.name}:", view.window_scale)
            bodies = document.get("CustomResponseBodies") or {}
            self.rules = _rules(list(document.get("Rules") or ()), ctx, bodies)
            self.default = compile_action(document.get("DefaultAction") or {"Allow": {}}, bodies)
            self.logging = document.get("Logging") is not None
            for note in ctx.notes:
                log.warning("web ACL %s: %s", view.name, note)
        except Exception as error:  # never crash the listener: fail closed (or open), naming what is not evaluated
            self.failed = str(error) if isinstance(error, UnsupportedDefinition) else repr(error)
            log.error("web ACL %s %s every request: %s is not emulated", view.name,
                      "lets through" if fail_open else "blocks", self.failed)

    def run(self, ctx: Exchange) -> Outcome:
        record = ctx.record
        if record is not None:  # (access logs' actions_executed, for an ACL that cannot be evaluated too)
            record.executed("waf" if self.failed is None else "waf-failed")
            if self.failed is not None:
                record.error_reason = "WAFUnhandledException"
        if self.failed is not None:
            return self.on_failure
        if self.inspects_body and not ctx.request_done and not ctx.expect and _has_body(ctx):
            return self._after_body(ctx)
        return self.decide(ctx)

    def decide(self, ctx: Exchange) -> Answer:
        try:
            return self._decide(ctx)
        except Exception:  # a statement that cannot evaluate this request: fail closed (or open), never crash
            log.exception("web ACL %s cannot evaluate a request: %s", self.arn,
                          "let through" if self.on_failure is GO_ON else "blocked")
            return self.on_failure

    async def _after_body(self, ctx: Exchange) -> Answer:
        loop = ctx.leg.loop
        end = loop.time() + BODY_WAIT
        while not ctx.request_done and ctx.body is not None and sum(map(len, ctx.body)) <= BODY_LIMIT:
            remaining = end - loop.time()
            if remaining <= 0:
                break
            ctx.body_waiter = waiter = loop.create_future()
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                break
        ctx.body_waiter = None
        return self.decide(ctx)

    def _decide(self, ctx: Exchange) -> Answer:
        request = ctx.request
        inspection = Inspection(request, time.monotonic())
        if self.inspects_body and ctx.body:
            body = b"".join(ctx.body)
            inspection.body = body[:BODY_LIMIT].decode("latin-1")
            inspection.oversize = len(body) > BODY_LIMIT or ctx.request.declared_length() > BODY_LIMIT
        verdict = Verdict()
        terminated = _evaluate(self.rules, inspection, verdict)
        action = verdict.action if terminated and verdict.action is not None else self.default
        if action is self.default and action.insert:
            verdict.insert.update(action.insert)
        if self.logging:
            write_record(self.arn, request, action.kind, verdict.rule or "Default_Action",
                         "REGULAR" if verdict.rule else "DEFAULT", verdict.counted, inspection.labels, self.arn)
        if action.kind == ALLOW:
            inserted = verdict.insert
            if inserted:  # a header the client sent under an inserted name is overwritten (AWS)
                if any(name in inserted for name, _ in request.headers):
                    request.headers = [header for header in request.headers if header[0] not in inserted]
                ctx.extra = (*ctx.extra, *inserted.items())
            return GO_ON
        return action.response


def _has_body(ctx: Exchange) -> bool:
    """Whether a request body follows its head (HTTP/2: the stream has not ended)."""
    return ctx.chunked or ctx.request.http2 or ctx.request.declared_length() > 0


_compiled: dict[tuple[WebAclView, bool], WebAcl] = {}


def compile_web_acl(view: WebAclView, fail_open: bool = False) -> WebAcl:
    """The compiled web ACL of ``view``: the same object while the configuration is unchanged, so its rate-based
    counters survive reconcile passes (a changed configuration starts them afresh). ``fail_open``: the load
    balancer's ``waf.fail_open.enabled``."""
    key = (view, fail_open)
    acl = _compiled.get(key)
    if acl is None:
        if len(_compiled) >= 256:
            _compiled.clear()
        acl = _compiled[key] = WebAcl(view, fail_open)
    return acl
