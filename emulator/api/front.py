"""The WSGI front door: elbv2 calls are answered here directly, everything else goes to the Flask app.

A request is an elbv2 call when, like AWS's front door, its SigV4 signature names the
``elasticloadbalancing`` service and its Query parameters carry an ``Action``: whatever the HTTP method
(the Query protocol allows GET with a query string), whatever the case of its form Content-Type. Classic
ELB signs as the same service; its ``Version`` (2012-06-01) sends it on to moto. An unsigned request is an
elbv2 call only with ``Version=2015-12-01``. Serving elbv2 without Flask's request/response machinery
saves about a millisecond per call (``scripts/bench_api.py``); a body read for routing is handed on to
Flask unchanged for every other Query-protocol service (EC2, ...), which moto answers.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import botocore.session

from emulator.api.elbv2 import ELBV2_VERSION, Elbv2Endpoint, Reply, error_reply
from emulator.api.identity import caller, signing_service
from emulator.errors import AwsError
from emulator.protocol import XML_CONTENT_TYPE, operation_names

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_FORM = "application/x-www-form-urlencoded"
_SERVICE = "elasticloadbalancing"
_CLASSIC_ELB_VERSION = "2012-06-01"
# More fields than any elbv2 call needs (the largest, RegisterTargets, has no modeled limit, but a few
# thousand targets is far beyond AWS's quotas); it bounds the memory one parsed request can take.
_MAX_FIELDS = 20_000
_OPERATIONS = frozenset(operation_names())


class Elbv2Front:
    """WSGI middleware: ``Elbv2Front(flask_app, endpoint)`` is the whole HTTP API."""

    def __init__(self, app: WsgiApp, endpoint: Elbv2Endpoint) -> None:
        self._app = app
        self._endpoint = endpoint

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        authorization = environ.get("HTTP_AUTHORIZATION")
        who = caller(authorization, environ.get("HTTP_X_MOTO_ACCOUNT_ID"))
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = who.account  # moto reads the account from this header: agree with ours
        service = signing_service(authorization)
        if environ.get("PATH_INFO", "/") not in ("", "/") or service not in (None, _SERVICE):
            return self._app(environ, start_response)
        try:
            params = _query_parameters(environ)
        except ValueError:
            error = AwsError("InvalidQueryParameter", f"The request has more than {_MAX_FIELDS} parameters.")
            return _answer(error_reply(error), start_response)
        version, action = params.get("Version"), params.get("Action")
        if service is None and version != ELBV2_VERSION and action not in _OPERATIONS:
            return self._app(environ, start_response)
        if not action:
            return _answer(error_reply(AwsError("MissingAction", "The request must contain the parameter Action.")), start_response)
        if version == _CLASSIC_ELB_VERSION and action in _classic_elb_operations():
            return self._app(environ, start_response)  # moto's classic ELB
        if version != ELBV2_VERSION:
            # What AWS's Query front door answers for an unknown or missing Version (AWS "Common Errors": InvalidAction).
            message = f"Could not find operation {action} for version {version or 'NO_VERSION_SPECIFIED'}"
            return _answer(error_reply(AwsError("InvalidAction", message)), start_response)
        return _answer(self._endpoint.call(params, who, _endpoint_url(environ)), start_response)


@cache
def _classic_elb_operations() -> frozenset[str]:
    """Classic ELB's actions (botocore's ``elb`` model, loaded on first use): moto answers only these."""
    return frozenset(botocore.session.get_session().get_service_model("elb").operation_names)


def _answer(reply: Reply, start_response: Callable[..., Any]) -> list[bytes]:
    start_response(
        f"{reply.status} {HTTPStatus(reply.status).phrase}",
        [("Content-Type", XML_CONTENT_TYPE), ("Content-Length", str(len(reply.body))), ("x-amzn-RequestId", reply.request_id)],
    )
    return [reply.body]


def _query_parameters(environ: dict[str, Any]) -> dict[str, str]:
    """The query string's parameters, then a form body's on top (its body re-wound for the app)."""
    params = _decoded(environ.get("QUERY_STRING", ""))
    if environ.get("CONTENT_TYPE", "").lower().startswith(_FORM):
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        params.update(_decoded(body.decode("utf-8", errors="replace")))
    return params


def _decoded(text: str) -> dict[str, str]:
    if not text:
        return {}
    return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS))


def _read_body(environ: dict[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    return environ["wsgi.input"].read(int(length)) if length else b""


def _endpoint_url(environ: dict[str, Any]) -> str:
    """The URL the client called (presigned URLs must point back at it), as Flask's ``host_url`` has it."""
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return f"{environ['wsgi.url_scheme']}://{host}"
