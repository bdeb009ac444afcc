"""Invoking a Lambda function locally: what the ALB data plane and the Lambda API (``Invoke``) ask of the local
runtime (``emulator.lambdas``), which the server injects, so neither imports the runtime nor moto."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

# Why an invocation produced no payload from the handler (``Invocation.failure``); AWS Lambda's own words
# for the ``FunctionError`` header are "Unhandled" (the runtime caught it) and "Handled" (never used here).
UNKNOWN_FUNCTION = "unknown-function"  # no such function (or version/alias) in this account and region
UNSUPPORTED = "unsupported"  # the runtime cannot run here (e.g. nodejs without node, an image function)
TIMED_OUT = "timed-out"  # the handler ran past the function's Timeout (the worker is killed)
CRASHED = "crashed"  # the worker exited (or its code could not be loaded) before answering


@dataclass(frozen=True, slots=True)
class Invocation:
    """One invocation's outcome. ``payload``: the JSON the caller gets (the handler's result, or Lambda's
    ``{"errorMessage", "errorType", ...}`` document when ``function_error``). ``function_error``: "Unhandled"
    when the handler raised, timed out or its worker died (Lambda's ``X-Amz-Function-Error``), else None.
    ``failure``: one of the constants above, None when the handler returned or raised."""

    payload: bytes
    function_error: str | None = None
    failure: str | None = None
    function_arn: str = ""  # the unqualified ARN of the function invoked ("" when unknown)
    executed_version: str = "$LATEST"


class LambdaInvoker(Protocol):
    def invoke(self, function: str, region: str, account: str, payload: bytes) -> Future[Invocation]:
        """Invoke ``function`` (a name, a name with ``:qualifier``, or a function ARN, which names its own region
        and account) with ``payload`` (JSON). Thread-safe and never blocking: the future completes on the
        runtime's own thread (callers on an event loop wrap it with ``asyncio.wrap_future``)."""
        ...
