"""An ALB request as the event a Lambda target receives, and the function's result as the HTTP response.

AWS, "Use Lambda functions as targets of an Application Load Balancer"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html):

- the event: ``requestContext.elb.targetGroupArn``, ``httpMethod``, ``path``, ``queryStringParameters``,
  ``headers`` (names lower-cased), ``body``, ``isBase64Encoded``. Query parameters are passed as the client
  sent them ("If the query parameters are URL-encoded, the load balancer does not decode them"). Without
  multi-value headers a repeated header or query parameter gives its last value; with
  ``lambda.multi_value_headers.enabled`` the event carries ``multiValueHeaders`` and
  ``multiValueQueryStringParameters`` (every value, in order) instead. A body whose Content-Type is
  ``text/*``, ``application/json``, ``application/javascript`` or ``application/xml`` is passed as text;
  any other body is Base64-encoded, with ``isBase64Encoded`` true.
- the response: ``statusCode`` (required), ``statusDescription``, ``headers`` (or ``multiValueHeaders`` when
  multi-value headers are enabled), ``body``, ``isBase64Encoded``; the response JSON is at most 1 MB.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from emulator.dataplane.alb.heads import UpstreamRequest
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.responses import LocalResponse

MAX_BODY = 1024 * 1024  # the request body a Lambda target may receive, and the response JSON it may send
_TEXT_TYPES = ("application/json", "application/javascript", "application/xml")
# The response framing is the load balancer's own: a function's values for these are not passed on.
_FRAMING = frozenset(("content-length", "transfer-encoding", "connection", "keep-alive"))


def _text_body(content_type: bytes | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(b";", 1)[0].strip().lower().decode("latin-1")
    return media.startswith("text/") or media in _TEXT_TYPES


def build_event(request: Request, head: UpstreamRequest, body: bytes, group_arn: str, multi_value: bool) -> bytes:
    """The event JSON for ``request`` (``head``: what an instance target would receive, for the headers the
    load balancer adds: Host, X-Forwarded-For/-Proto/-Port, X-Amzn-Trace-Id)."""
    pairs: list[tuple[str, str]] = [("host", head.host.decode("latin-1"))]
    content_type = None
    for name, value in head.headers:
        pairs.append((name.decode("latin-1"), value.decode("latin-1")))
        if name == b"content-type":
            content_type = value
    if body or head.length is not None:
        pairs.append(("content-length", str(len(body))))
    pairs.extend(((name.decode("latin-1"), value.decode("latin-1")) for name, value in head.lb_headers()))
    query = [part.partition("=")[::2] for part in request.query.split("&")] if request.query else []
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": group_arn}},
        "httpMethod": request.method,
        "path": request.path,
    }
    if multi_value:
        event["multiValueQueryStringParameters"] = _multi(query)
        event["multiValueHeaders"] = _multi(pairs)
    else:
        event["queryStringParameters"] = dict(query)  # (a later value replaces an earlier one: the last wins)
        event["headers"] = dict(pairs)
    if not body:
        event["body"], event["isBase64Encoded"] = "", False
    elif _text_body(content_type):
        event["body"], event["isBase64Encoded"] = body.decode("utf-8", "replace"), False
    else:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
    return json.dumps(event).encode()


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    return values


class InvalidResponse(ValueError):
    """The function's result is not a response the load balancer can send (AWS: LambdaInvalidResponse)."""


def map_response(payload: bytes, multi_value: bool) -> tuple[int, LocalResponse]:
    """(the function's statusCode, the HTTP response); raises InvalidResponse."""
    try:
        result = json.loads(payload)
    except ValueError as error:
        raise InvalidResponse("the result is not JSON") from error
    if not isinstance(result, dict):
        raise InvalidResponse("the result is not a JSON object")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise InvalidResponse("statusCode is missing or not an HTTP status code")
    headers: list[tuple[bytes, bytes]] = []
    if multi_value:
        for name, values in _object(result.get("multiValueHeaders"), "multiValueHeaders").items():
            if not isinstance(values, list):
                raise InvalidResponse("multiValueHeaders values must be lists")
            headers.extend((_bytes(name), _bytes(value)) for value in values)
    else:
        headers.extend((_bytes(name), _bytes(value))
                       for name, value in _object(result.get("headers"), "headers").items())
    headers = [header for header in headers if header[0].lower().decode("latin-1") not in _FRAMING]
    body = result.get("body")
    if body is None:
        content = b""
    elif not isinstance(body, str):
        raise InvalidResponse("body must be a string")
    elif result.get("isBase64Encoded") is True:
        try:
            content = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise InvalidResponse("body is not Base64") from error
    else:
        content = body.encode("utf-8")
    response = LocalResponse(status, "", content)
    response.headers = headers  # (the function's own headers only: no Server or Content-Type is added)
    description = result.get("statusDescription")
    if isinstance(description, str) and description:  # "200 OK": the reason phrase follows the code
        code, _, phrase = description.partition(" ")
        response.reason = (phrase if code.isdigit() else description).encode("latin-1", "replace")
    return status, response


def _object(value: object, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidResponse(f"{field} must be an object")
    return value


def _bytes(value: object) -> bytes:
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, (str, int, float)):
        return str(value).encode("latin-1", "replace")
    raise InvalidResponse("header values must be strings")
