"""The WSGI middleware that installs the emulator's CloudFormation resource types on the first CloudFormation call."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from emulator.api.cloudformation.calls import Elbv2Invoker
from emulator.api.identity import signing_service

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_SERVICE = "cloudformation"


class CloudFormationBridge:
    """WSGI middleware in front of moto: ``CloudFormationBridge(app, endpoint)``."""

    def __init__(self, app: WsgiApp, invoker: Elbv2Invoker) -> None:
        self._app = app
        self._invoker = invoker
        self._installed = False
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self._installed and signing_service(environ.get("HTTP_AUTHORIZATION")) == _SERVICE:
            self.install()
        return self._app(environ, start_response)

    def install(self) -> None:
        with self._lock:
            if self._installed:
                return
            from emulator.api.cloudformation.registry import register

            register(self._invoker)
            self._installed = True
