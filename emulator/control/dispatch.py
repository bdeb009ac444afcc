"""Run one elbv2 operation: find its handler and run it inside a store transaction."""

from __future__ import annotations

from emulator.control.context import HANDLERS, Context, Request, Result, Services, utcnow
from emulator.errors import AwsError


def handle(
    services: Services, account: str, region: str, operation: str, request: Request, endpoint_url: str = ""
) -> Result:
    handler = HANDLERS.get(operation)
    if handler is None:
        raise AwsError("InvalidAction", f"The action {operation} is not valid for this web service.")
    with services.store.transaction(account, region) as tx:
        return handler(Context(services, account, region, tx, utcnow(), endpoint_url), request)
