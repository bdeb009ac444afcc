"""What every control-plane handler receives, and the table that maps operation names to handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from emulator.store import Store, TargetHealthBoard, Transaction
from emulator.timing import Timing

Request = dict[str, Any]  # the parsed input shape, keyed by AWS member names
Result = dict[str, Any] | None  # the output shape, keyed by AWS member names
Handler = Callable[["Context", Request], Result]


class ListenerPorts(Protocol):
    """Whether the data plane could bind a listener at all (asked before a listener is committed)."""

    def refusal(self, lb_address: str, port: int, protocol: str | None, held_protocol: str | None,
                creating: bool) -> str | None:
        """Why ``protocol`` on ``port`` cannot be bound for a load balancer at ``lb_address``, or None.
        ``held_protocol``: the protocol of the listener being modified when it already holds the port;
        ``creating``: the listener is new (not modified)."""
        ...


@dataclass(frozen=True, slots=True)
class Services:
    """Process-wide collaborators shared by all requests."""

    store: Store
    health: TargetHealthBoard
    timing: Timing
    ports: ListenerPorts


@dataclass(slots=True)
class Context:
    """One API call: who is calling, where, and the transaction it runs in."""

    services: Services
    account: str
    region: str
    tx: Transaction
    now: datetime
    # The URL the client called: presigned URLs (GetTrustStore*) must point back at this same endpoint.
    endpoint_url: str = ""

    @property
    def timing(self) -> Timing:
        return self.services.timing


HANDLERS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for the elbv2 operation ``name`` (e.g. ``"CreateLoadBalancer"``)."""

    def register(handler: Handler) -> Handler:
        if name in HANDLERS:
            raise RuntimeError(f"two handlers for {name}")
        HANDLERS[name] = handler
        return handler

    return register


def utcnow() -> datetime:
    return datetime.now(UTC)
