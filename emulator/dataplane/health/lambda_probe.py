"""A Lambda target's health check: the function is invoked with AWS's health check event and passes when it
answers a ``statusCode`` the matcher accepts.

AWS ("Use Lambda functions as targets of an Application Load Balancer", "Enable health checks"): checks are
off by default for ``lambda`` groups; when enabled, the event is a GET of the health check path with no query
parameters, the single header ``user-agent: ELB-HealthChecker/2.0``, an empty body; a failing answer makes the
target unhealthy (reported, e.g. to Route 53; with its one target the group fails open, so traffic goes on).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from api_models.lambda_invocation import Invocation, LambdaInvoker
from emulator.dataplane.health.states import FAILED, TIMED_OUT, CheckResult, response_code_mismatch
from emulator.dataplane.selection.group import TargetGroupRuntime

USER_AGENT = "ELB-HealthChecker/2.0"
MIN_TIMEOUT = 1.0  # seconds: a first check may start the function's worker (fast timing's timeouts are shorter)
_pending: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks


def health_event(group_arn: str, path: str, multi_value: bool) -> bytes:
    event: dict[str, object] = {"requestContext": {"elb": {"targetGroupArn": group_arn}}, "httpMethod": "GET",
                                "path": path}
    if multi_value:
        event["multiValueQueryStringParameters"] = {}
        event["multiValueHeaders"] = {"user-agent": [USER_AGENT]}
    else:
        event["queryStringParameters"] = {}
        event["headers"] = {"user-agent": USER_AGENT}
    event["body"], event["isBase64Encoded"] = "", False
    return json.dumps(event).encode()


def start_lambda_probe(invoker: LambdaInvoker, group: TargetGroupRuntime, function: str, path: str,
                       codes: frozenset[int], timeout: float, done: Callable[[CheckResult], None]) -> None:
    multi_value = group.group.attributes.get("lambda.multi_value_headers.enabled") == "true"
    event = health_event(group.arn, path, multi_value)
    region, account = group.group.region, group.group.account
    future = asyncio.wrap_future(invoker.invoke(function, region, account, event))
    task = asyncio.get_running_loop().create_task(_verdict(future, codes, max(timeout, MIN_TIMEOUT), done))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def _verdict(future: asyncio.Future[Invocation], codes: frozenset[int], timeout: float,
                   done: Callable[[CheckResult], None]) -> None:
    try:
        result = await asyncio.wait_for(future, timeout)
    except TimeoutError:
        done(TIMED_OUT)
        return
    except Exception:  # the runtime failed: the check fails, the checks go on
        done(FAILED)
        return
    done(_status_verdict(result, codes))


def _status_verdict(result: Invocation, codes: frozenset[int]) -> CheckResult:
    if result.function_error is not None or result.failure is not None:
        return FAILED
    try:
        answer = json.loads(result.payload)
    except ValueError:
        return FAILED
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if not isinstance(status, int):
        return FAILED
    return None if status in codes else response_code_mismatch(status)
