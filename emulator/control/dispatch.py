"""Run one elbv2 operation: find its handler and run it inside a store transaction."""

from __future__ import annotations

from dataclasses import dataclass

# Handler modules register their operations on import (imported by name: ``account`` is also a parameter).
import emulator.control.account  # noqa: F401
import emulator.control.attributes  # noqa: F401
import emulator.control.capacity  # noqa: F401
import emulator.control.listener_certificates  # noqa: F401
import emulator.control.listeners  # noqa: F401
import emulator.control.load_balancers  # noqa: F401
import emulator.control.rules  # noqa: F401
import emulator.control.ssl_policies  # noqa: F401
import emulator.control.tags  # noqa: F401
import emulator.control.target_groups  # noqa: F401
import emulator.control.targets  # noqa: F401
import emulator.control.trust_store_revocations  # noqa: F401
import emulator.control.trust_stores  # noqa: F401
from emulator.control.context import HANDLERS, Context, Request, Result, Services, utcnow
from emulator.errors import AwsError


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one call answered, and what it changed in the store."""

    result: Result
    changed_kinds: frozenset[str]  # the kinds of the resources the call created, modified or deleted
    generation: int | None  # the store generation that holds those changes (None when there are none)


def handle(
    services: Services, account: str, region: str, operation: str, request: Request, endpoint_url: str = ""
) -> Outcome:
    handler = HANDLERS.get(operation)
    if handler is None:
        raise AwsError("InvalidAction", f"The action {operation} is not valid for this web service.")
    with services.store.transaction(account, region) as tx:
        result = handler(Context(services, account, region, tx, utcnow(), endpoint_url), request)
    return Outcome(result, frozenset(change.kind for change in tx.committed), tx.committed_generation)
