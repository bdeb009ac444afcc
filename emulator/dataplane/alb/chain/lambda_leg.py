"""The Lambda leg: a request that a ``lambda`` target group receives invokes the group's function (the
injected ``api_models.lambda_invocation.LambdaInvoker``) instead of going to an upstream connection.

AWS ("Use Lambda functions as targets of an Application Load Balancer"): the request body is buffered and
passed in the event (at most 1 MB), WebSocket upgrades are refused with 400, and a response that is not valid,
a function error (an exception, a timeout) or a response over 1 MB is answered 502. The access log's
``error_reason`` ("Access logs for your Application Load Balancer", "Error reason codes") says which:
LambdaInvalidResponse, LambdaUnhandled, LambdaResponseTooLarge, LambdaRequestTooLarge (413, the request body
over 1 MB), LambdaResourceNotFound (the registered function does not exist).
"""

from __future__ import annotations

import asyncio
import logging
from time import time

from api_models.identifiers import arn_region_account
from api_models.lambda_invocation import UNKNOWN_FUNCTION, Invocation, LambdaInvoker
from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.headers.forwarded import HeaderPolicy
from emulator.dataplane.alb.lambda_event import MAX_BODY, InvalidResponse, build_event, map_response
from emulator.dataplane.alb.outcomes import GO_ON, Answer, Outcome
from emulator.dataplane.alb.responses import LocalResponse, lb_response

log = logging.getLogger("elbv2_emulator.lambda")
_NO_KEY = ("", 0, False)  # (the head is built only for its headers: no upstream connection is pooled)
_UPGRADE = lb_response(400)
_BAD_GATEWAY = lb_response(502)
_TOO_LARGE = lb_response(413)
_NO_TARGET = lb_response(503)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"  # (only HTTP/1.1 requests carry Expect)
BODY_WAIT = 60.0  # seconds a request body may take to arrive (the ALB's default idle timeout)


class LambdaLeg:
    __slots__ = ("invoker", "policy")

    def __init__(self, invoker: LambdaInvoker, policy: HeaderPolicy) -> None:
        self.invoker = invoker
        self.policy = policy

    def run(self, ctx: Exchange) -> Outcome:
        selection = ctx.selection
        if selection is None or not selection.group.invokes_lambda:
            return GO_ON
        if ctx.upgrade is not None:
            return _UPGRADE
        target = selection.target
        # Not routable (e.g. its first health check pending): the one function registered, if there is one.
        function = target.id if target is not None else next(
            (t.id for t in selection.group.targets.values() if not t.draining), None)
        if function is None:
            return _NO_TARGET
        if ctx.request.declared_length() > MAX_BODY:
            return self._fail(ctx, _TOO_LARGE, "LambdaRequestTooLarge")
        return self._invoke(ctx, function)

    async def _invoke(self, ctx: Exchange, function: str) -> Answer:
        loop = ctx.leg.loop
        end = loop.time() + BODY_WAIT
        if ctx.expect and not ctx.request_done:
            ctx.leg.send(_CONTINUE)  # the client waits for it before sending the body the event carries
        while not ctx.request_done and ctx.body is not None:
            if sum(map(len, ctx.body)) > MAX_BODY:
                return self._fail(ctx, _TOO_LARGE, "LambdaRequestTooLarge")
            remaining = end - loop.time()
            if remaining <= 0:
                return lb_response(408)
            ctx.body_waiter = waiter = loop.create_future()
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                return lb_response(408)
        ctx.body_waiter = None
        body = b"".join(ctx.body) if ctx.body else b""
        if len(body) > MAX_BODY:
            return self._fail(ctx, _TOO_LARGE, "LambdaRequestTooLarge")
        selection = ctx.selection
        assert selection is not None
        group = selection.group
        head = self.policy.build(ctx, _NO_KEY, False)
        if head is None:  # too many X-Forwarded-For entries
            return lb_response(463)
        multi_value = group.group.attributes.get("lambda.multi_value_headers.enabled") == "true"
        event = build_event(ctx.request, head, body, group.arn, multi_value)
        record = ctx.record
        if record is not None:
            record.target_group_arn, record.trace_id = group.arn, head.trace_id.decode("latin-1")
            record.forwarded_time = time()
        region, account = arn_region_account(group.arn)
        result: Invocation = await asyncio.wrap_future(self.invoker.invoke(function, region, account, event))
        if record is not None:
            record.response_time = time()
        if result.failure == UNKNOWN_FUNCTION:
            return self._fail(ctx, _BAD_GATEWAY, "LambdaResourceNotFound")
        if result.function_error is not None:
            log.info("lambda %s failed: %s", function, result.payload[:500].decode("utf-8", "replace"))
            return self._fail(ctx, _BAD_GATEWAY, "LambdaUnhandled")
        if len(result.payload) > MAX_BODY:
            return self._fail(ctx, _BAD_GATEWAY, "LambdaResponseTooLarge")
        try:
            status, response = map_response(result.payload, multi_value)
        except InvalidResponse as error:
            log.info("lambda %s: invalid response for the load balancer: %s", function, error)
            return self._fail(ctx, _BAD_GATEWAY, "LambdaInvalidResponse")
        if record is not None:
            record.target_status_code = status
        if ctx.request.method == "HEAD":  # a HEAD response has no body, whatever the function returned
            response.body = b""
        return response

    @staticmethod
    def _fail(ctx: Exchange, response: LocalResponse, reason: str) -> LocalResponse:
        if ctx.record is not None:
            ctx.record.error_reason = reason
        return response
