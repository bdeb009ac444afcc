"""With ``--state-dir``: every call that may change moto's services is written durably before it is answered.

This WSGI middleware wraps the whole API. A call is read-only when its action (Query ``Action``, JSON
``X-Amz-Target``, RPCv2 ``/operation/<name>``) starts with Describe, List, Get, Head, Lookup or Search,
or, for REST services without an action name (S3, Lambda), when its method is GET, HEAD or OPTIONS (and
Lambda Invoke, which the local runtime answers).
Every other moto call runs under the state's lock and, before its answer leaves, the caller's backends
in the call's account and region are written (``ServicesState.persist``). ELBv2 calls persist through
ELBv2's own store, but a backend that moto created while answering any call (EC2 creates its default
VPC on first use) is written too. Requests wait until the stored state is restored, except the
``/_emulator`` admin routes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from typing import Any

from emulator.api.elbv2 import ELBV2_VERSION
from emulator.api.lambda_invoke import INVOKE_PATH
from emulator.store.services_state import ServicesState

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_READ_PREFIXES = ("Describe", "List", "Get", "Head", "Lookup", "Search")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z0-9]+)")
_VERSION = re.compile(rb"(?:^|&)Version=([0-9-]+)")
_CREDENTIAL = re.compile(r"Credential=[^/,]*/[^/,]*/([^/,]+)/([^/,]+)/")
# SigV4 signing names that differ from the name of moto's backend table for the service.
_BACKEND_NAMES = {"monitoring": ("cloudwatch",), "elasticloadbalancing": ("elb", "elbv2"), "email": ("ses", "sesv2")}
_RESET = "/moto-api/reset"


class _Call:
    """What the middleware needs to know of a request: its action, region, and whether it may change moto."""

    __slots__ = ("action", "region", "services", "mutates_moto")

    def __init__(self, environ: dict[str, Any]) -> None:
        body = _buffered_body(environ)
        query = environ.get("QUERY_STRING", "").encode("latin-1")
        target = environ.get("HTTP_X_AMZ_TARGET")
        path = environ.get("PATH_INFO", "")
        found = _ACTION.search(body) or _ACTION.search(query)
        if found is not None:
            self.action: str | None = found.group(1).decode()
        elif target:
            self.action = target.rpartition(".")[2]
        elif "/operation/" in path:
            self.action = path.rpartition("/operation/")[2]
        else:
            self.action = None
        credential = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        self.region = credential.group(1) if credential else "us-east-1"
        signing_name = credential.group(2) if credential else None
        self.services = _BACKEND_NAMES.get(signing_name, (signing_name,)) if signing_name else None
        if self.action is not None:
            read_only = self.action.startswith(_READ_PREFIXES) or _is_elbv2(body)
        else:  # (Lambda Invoke runs the local runtime, not moto: it changes nothing stored, and a slow
            # handler must not hold the state's lock)
            read_only = environ.get("REQUEST_METHOD", "GET") in _READ_METHODS or INVOKE_PATH.match(path) is not None
        self.mutates_moto = not read_only


def _buffered_body(environ: dict[str, Any]) -> bytes:
    """The request body when the HTTP handler buffered it (forms and JSON calls are), else nothing."""
    stream = environ.get("wsgi.input")
    return stream.getvalue() if isinstance(stream, io.BytesIO) else b""


def _is_elbv2(body: bytes) -> bool:
    version = _VERSION.search(body)
    return version is not None and version.group(1).decode() == ELBV2_VERSION


class PersistingApp:
    """``PersistingApp(api, state)``: the API whose moto changes are durable before each answer."""

    def __init__(self, app: WsgiApp, state: ServicesState) -> None:
        self._app = app
        self._state = state

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_emulator/"):
            return self._app(environ, start_response)
        self._state.wait_restored()
        if path == _RESET:
            with self._state.lock:
                answer = self._answer(environ, start_response)
                self._state.clear()
            return answer
        call = _Call(environ)
        if not call.mutates_moto:
            answer = self._answer(environ, start_response)
            if self._state.has_new_backends():
                with self._state.lock:
                    self._state.persist(environ.get("HTTP_X_MOTO_ACCOUNT_ID"), None, (), call.action)
            return answer
        with self._state.lock:
            answer = self._answer(environ, start_response)
            # The front sets the caller's account in the environ as it routes the call.
            self._state.persist(environ.get("HTTP_X_MOTO_ACCOUNT_ID"), call.region, call.services, call.action)
        return answer

    def _answer(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """The app's whole answer: the call has run to its end when this returns."""
        result = self._app(environ, start_response)
        try:
            return list(result)
        finally:
            if hasattr(result, "close"):
                result.close()
