"""Lambda ``Invoke`` (``POST /2015-03-31/functions/{name}/invocations``) answered by the local runtime
(``api_models.lambda_invocation.LambdaInvoker``) instead of moto, whose invoke needs Docker. Every other Lambda
call, and an invoke of a function moto does not know (moto answers ResourceNotFoundException), goes to moto.

AWS Lambda API reference, "Invoke": InvocationType RequestResponse (the default: 200 and the payload),
Event (202, run in the background) or DryRun (204); a function error is still 200, with ``X-Amz-Function-Error``
and Lambda's error document as the payload; ``X-Amz-Executed-Version`` names the version that ran.
"""

from __future__ import annotations

import re
from urllib.parse import unquote
from uuid import uuid4

from flask import Request, Response

from api_models.lambda_invocation import UNKNOWN_FUNCTION, LambdaInvoker

INVOKE_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/functions/(?P<function>.+)/invocations/?$")
_SCOPE = re.compile(r"Credential=(?P<key>[^/,\s]+)/\d+/(?P<region>[a-z0-9-]+)/")
DEFAULT_REGION = "us-east-1"


def answer_invoke(lambdas: LambdaInvoker, request: Request) -> Response | None:
    """The Invoke response, or None when this is not an Invoke the local runtime runs."""
    if request.method != "POST":
        return None
    matched = INVOKE_PATH.match(request.path)
    if matched is None:
        return None
    function = unquote(matched.group("function"))
    qualifier = request.args.get("Qualifier")
    if qualifier and not function.startswith("arn:") and ":" not in function:
        function = f"{function}:{qualifier}"
    elif qualifier and function.startswith("arn:") and function.count(":") == 6:
        function = f"{function}:{qualifier}"
    region, account = _caller(request)
    kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
    payload = request.get_data(cache=True) or b"{}"
    if kind == "DryRun":  # the caller may invoke it: 204 (unknown functions are moto's 404)
        return Response(b"", 204, headers={"X-Amzn-RequestId": str(uuid4())}) if _exists(function, region, account) else None
    future = lambdas.invoke(function, region, account, payload)
    if kind == "Event":  # asynchronous: accepted at once; the result is not reported anywhere
        return Response(b"", 202, headers={"X-Amzn-RequestId": str(uuid4())})
    result = future.result()
    if result.failure == UNKNOWN_FUNCTION:
        return None  # moto answers ResourceNotFoundException, as for any call naming an unknown function
    headers = {"X-Amz-Executed-Version": result.executed_version}
    if result.function_error is not None:
        headers["X-Amz-Function-Error"] = result.function_error
    return Response(result.payload, 200, content_type="application/json", headers=headers)


def _exists(function: str, region: str, account: str) -> bool:
    from moto.awslambda.models import lambda_backends

    try:
        if function.startswith("arn:"):  # arn:aws:lambda:region:account:function:name[:qualifier]
            parts = function.split(":")
            region, account, function = parts[3], parts[4], ":".join(parts[6:])
        name, _, qualifier = function.partition(":")
        return lambda_backends[account][region].get_function(name, qualifier or None) is not None
    except Exception:  # a malformed ARN, moto's not-found errors
        return False


def _caller(request: Request) -> tuple[str, str]:
    """(region, account) of a SigV4-signed call: the credential scope's region, and the account moto assigns
    the caller's access key (its default account for the usual test keys)."""
    from moto.iam.models import get_account_id_from

    found = _SCOPE.search(request.headers.get("Authorization", ""))
    if found is None:
        return DEFAULT_REGION, get_account_id_from("")
    return found.group("region"), get_account_id_from(found.group("key"))
