"""Run one elbv2 operation: find its handler and run it inside a store transaction."""

from __future__ import annotations

from dataclasses import dataclass

# Handler modules register their operations on import.
from emulator.control import (  # noqa: F401
    account,
    attributes,
    capacity,
    listener_certificates,
    listeners,
    load_balancers,
    rules,
    ssl_policies,
    tags,
    target_groups,
    targets,
    trust_store_revocations,
    trust_stores,
)
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
