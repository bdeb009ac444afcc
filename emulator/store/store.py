"""The single source of truth for every resource, keyed by (account, region).

Every API call runs inside one ``Transaction``: it reads the committed state plus its own pending
changes, and only when the call succeeds are the changes persisted (when a state directory is set),
applied in memory and published to subscribers as ``Change`` events, in commit order. A call that
raises commits nothing, so bad input never corrupts state. One lock serialises transactions, which is
what makes names and priorities unique under concurrent calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from api_models.resources import RESOURCE_TYPES, Resource
from emulator.store.persistence import SqlitePersistence

R = TypeVar("R", bound=Resource)
Scope = tuple[str, str]  # (account, region)


@dataclass(frozen=True, slots=True)
class Change:
    """One committed change: ``before`` is None for a creation, ``after`` is None for a deletion."""

    kind: str
    key: str
    scope: Scope
    before: Resource | None
    after: Resource | None


Subscriber = Callable[[list[Change]], None]


class _ScopeState:
    """All resources of one account and region: kind -> key -> resource (insertion ordered)."""

    def __init__(self) -> None:
        self.by_kind: dict[str, dict[str, Resource]] = {kind: {} for kind in RESOURCE_TYPES}


class Transaction:
    """A consistent view of one scope plus the changes a call is making to it."""

    def __init__(self, state: _ScopeState, scope: Scope) -> None:
        self.scope = scope
        self._state = state
        self._pending: dict[str, tuple[str, Resource | None]] = {}  # key -> (kind, new value or None)
        # Set by the commit (once the call's block exits normally): what it published, and the store
        # generation that holds it. Empty and None when the call changed nothing.
        self.committed: list[Change] = []
        self.committed_generation: int | None = None

    # Each kind's bucket holds instances of that kind's class only: the isinstance checks below are what
    # narrows a stored ``Resource`` to ``cls`` (and cost no more than the None checks they replace).

    def get(self, cls: type[R], key: str) -> R | None:
        found = self._pending[key][1] if key in self._pending else self._state.by_kind[cls.kind].get(key)
        return found if isinstance(found, cls) else None

    def all(self, cls: type[R]) -> list[R]:
        """Every resource of a kind, in creation order, with this call's changes applied."""
        committed = self._state.by_kind[cls.kind]
        result = [self._pending[k][1] if k in self._pending else r for k, r in committed.items()]
        result += [r for k, (kind, r) in self._pending.items() if kind == cls.kind and k not in committed]
        return [r for r in result if isinstance(r, cls)]  # (deleted ones are None)

    def put(self, resource: Resource) -> None:
        if (resource.account, resource.region) != self.scope:
            raise ValueError(f"{resource.key} does not belong to scope {self.scope}")
        self._pending[resource.key] = (resource.kind, resource)

    def delete(self, resource: Resource) -> None:
        self._pending[resource.key] = (resource.kind, None)

    def _changes(self) -> list[Change]:
        committed = self._state.by_kind
        return [
            Change(kind, key, self.scope, committed[kind].get(key), after)
            for key, (kind, after) in self._pending.items()
        ]


class Store:
    def __init__(self, persistence: SqlitePersistence | None = None) -> None:
        self._lock = threading.RLock()
        self._scopes: dict[Scope, _ScopeState] = {}
        self._subscribers: list[Subscriber] = []
        self._persistence = persistence
        self.generation = 0  # bumped by every commit; the data plane reports which one it has applied
        if persistence is not None:
            for resource in persistence.load():
                self._scope((resource.account, resource.region)).by_kind[resource.kind][resource.key] = resource

    def _scope(self, scope: Scope) -> _ScopeState:
        state = self._scopes.get(scope)
        if state is None:
            state = self._scopes[scope] = _ScopeState()
        return state

    @contextmanager
    def transaction(self, account: str, region: str) -> Iterator[Transaction]:
        """Run a call against one scope; its changes commit only if the block exits normally."""
        scope = (account, region)
        with self._lock:
            tx = Transaction(self._scope(scope), scope)
            yield tx
            self._commit(tx)

    def _commit(self, tx: Transaction) -> None:
        changes = [c for c in tx._changes() if c.before is not c.after]
        if not changes:
            return
        if self._persistence is not None:
            self._persistence.commit(
                (c.after for c in changes if c.after is not None),
                (c.key for c in changes if c.after is None),
            )
        state = self._scope(tx.scope)
        self.generation += 1
        tx.committed, tx.committed_generation = changes, self.generation
        for change in changes:
            bucket = state.by_kind[change.kind]
            if change.after is None:
                bucket.pop(change.key, None)
            else:
                bucket[change.key] = change.after
        for subscriber in self._subscribers:
            subscriber(changes)

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber(changes)`` after each commit, under the store lock: it must be quick."""
        with self._lock:
            self._subscribers.append(subscriber)

    def snapshot(self, cls: type[R]) -> list[R]:
        """Every resource of a kind across all scopes."""
        with self._lock:
            return [r for state in self._scopes.values() for r in state.by_kind[cls.kind].values() if isinstance(r, cls)]

    def snapshot_all(self) -> tuple[int, dict[str, list[Resource]]]:
        """(generation, kind -> every resource of that kind), taken atomically for the data plane."""
        with self._lock:
            return self.generation, {
                kind: [r for state in self._scopes.values() for r in state.by_kind[kind].values()]
                for kind in RESOURCE_TYPES
            }

    def get(self, cls: type[R], key: str) -> R | None:
        """Look a resource up by key in any scope (ARNs carry their own account and region)."""
        with self._lock:
            for state in self._scopes.values():
                found = state.by_kind[cls.kind].get(key)
                if isinstance(found, cls):
                    return found
            return None

    def reset(self) -> None:
        """Forget everything (``POST /moto-api/reset``), publishing a deletion for each resource."""
        with self._lock:
            changes = [
                Change(kind, key, scope, resource, None)
                for scope, state in self._scopes.items()
                for kind, bucket in state.by_kind.items()
                for key, resource in bucket.items()
            ]
            if self._persistence is not None:
                self._persistence.clear()
            self._scopes.clear()
            self.generation += 1
            for subscriber in self._subscribers:
                subscriber(changes)
