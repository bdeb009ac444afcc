"""Durable state of the other AWS services the endpoint serves (moto's EC2, ACM, S3, IAM, WAFv2, Lambda, ...).

``--state-dir`` keeps them in ``DIR/services.sqlite3``: one row per moto backend (service, account, region)
holding its pickle (see ``backend_pickle``). After each mutating call the caller's backends in that
account and region (and the account's partition-wide ones: S3, IAM) are pickled, and the rows whose pickle
changed are written in one SQLite transaction with ``synchronous=FULL``, before the API answers: as for
ELBv2's own store, an acknowledged call survives ``kill -9``. A backend moto creates on first use (EC2's
default VPC and subnets, with their random IDs) is written as soon as it exists, whatever the call.

At start-up ``restore`` puts every backend back into moto's backend tables, ACM first (the data plane
needs certificates for HTTPS and TLS listeners), EC2 once moto's EC2 models are imported; callers wait
with ``wait_restored``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from emulator.store import backend_pickle
from emulator.store.backend_pickle import BaseObjects
from emulator.store.persistence import open_durable

if TYPE_CHECKING:
    from moto.core.base_backend import BackendDict

log = logging.getLogger("elbv2_emulator.state")

BackendKey = tuple[str, str, str]  # (service, account, region or partition)
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS backends (
    service TEXT NOT NULL,
    account TEXT NOT NULL,
    region  TEXT NOT NULL,
    base    BLOB,
    body    BLOB NOT NULL,
    PRIMARY KEY (service, account, region)
)
"""
_EARLY_SERVICES = ("acm",)  # restored before EC2's import finishes: the data plane's certificates


def _tables_in_use() -> list[BackendDict[Any]]:
    """moto's backend tables that hold a backend, one per service (call under moto's ``backend_lock``)."""
    from moto.core.base_backend import BackendDict

    # One list on the class, which moto annotates as an instance variable of the generic class: read it from
    # the class's namespace, typed here.
    instances: list[BackendDict[Any]] = vars(BackendDict)["_instances"]
    return list(dict.fromkeys(instances))


def _table(service: str) -> BackendDict[Any]:
    """moto's backend table of ``service``, importing its models on first use. moto types ``get_backend``
    per literal service name; the names here are ``BackendDict.service_name`` values read back from the
    database, so the lookup is typed by name, not literal."""
    from moto.backends import get_backend

    by_name = cast("Callable[[str], BackendDict[Any]]", get_backend)
    return by_name(service)


def _backends_in_use() -> dict[BackendKey, Any]:
    """Every backend moto has created, by key (moto registers each service's table once it is used)."""
    from moto.core.base_backend import backend_lock

    with backend_lock:
        return {
            (table.service_name, account, region): backend
            for table in _tables_in_use()
            for account, per_region in list(table.items())
            for region, backend in list(per_region.items())
        }


def _partitions() -> frozenset[str]:
    from moto.utilities.utils import PARTITION_NAMES

    return frozenset(PARTITION_NAMES)


class _Written:
    """What the file holds for one backend: its body (unchanged bodies are not rewritten) and base objects."""

    __slots__ = ("body", "base")

    def __init__(self, body: bytes, base: BaseObjects | None) -> None:
        self.body = body
        self.base = base


class ServicesState:
    def __init__(self, state_dir: Path) -> None:
        self._db = open_durable(state_dir, "services.sqlite3", _SCHEMA)
        # Held across a mutating call and the write of its result, so that no pickle sees half a call.
        self.lock = threading.RLock()
        self._written: dict[BackendKey, _Written] = {}
        self._restored: dict[str, threading.Event] = {}
        self._all_restored = threading.Event()

    # -- start-up -------------------------------------------------------------------------------------

    def restore(self, ec2_imported: threading.Event) -> None:
        """Put every stored backend back into moto; ``ec2_imported`` is set once moto's EC2 models are imported."""
        rows = self._db.execute("SELECT service, account, region, base, body FROM backends").fetchall()
        for service, *_ in rows:
            self._restored.setdefault(service, threading.Event())
        early = [row for row in rows if row[0] in _EARLY_SERVICES]
        try:
            self._install(early)
            ec2_imported.wait()
            self._install([row for row in rows if row[0] not in _EARLY_SERVICES])
        finally:
            for event in self._restored.values():
                event.set()
            self._all_restored.set()

    def _install(self, rows: list[tuple[str, str, str, bytes | None, bytes]]) -> None:
        for service, account, region, base, body in rows:
            try:
                backend, objects = backend_pickle.load(base, body)
                dict.__setitem__(_table(service)[account], region, backend)
            except Exception:  # a moto upgrade may not read an old pickle: start that backend afresh
                log.exception("cannot restore moto's %s backend for %s/%s", service, account, region)
                continue
            self._written[(service, account, region)] = _Written(body, objects)
        for service in {row[0] for row in rows}:
            self._restored[service].set()

    def wait_restored(self, service: str | None = None) -> None:
        """Block until ``service`` (every service, when None) is back as it was stored."""
        if service is None:
            self._all_restored.wait()
        elif service in self._restored:
            self._restored[service].wait()
        else:
            self._all_restored.wait()

    def after_restore(self, service: str, function: Callable[..., T]) -> Callable[..., T]:
        """``function``, called only once ``service`` is restored (for the data plane's lookups into moto)."""

        def restored_first(*args: Any) -> T:
            if not self._all_restored.is_set():
                self.wait_restored(service)
            return function(*args)

        return restored_first

    # -- after calls ------------------------------------------------------------------------------------

    def has_new_backends(self) -> bool:
        """Whether moto created a backend that is not written yet (cheap: counts, under moto's lock)."""
        from moto.core.base_backend import backend_lock

        with backend_lock:
            tables = _tables_in_use()
            return sum(len(per_region) for table in tables for per_region in table.values()) != len(self._written)

    def persist(
        self, account: str | None, region: str | None, services: Iterable[str] | None, action: str | None
    ) -> None:
        """Write the backends a call may have changed, and any backend created meanwhile. Those a call may
        change are the account's backends of ``services`` (every service when None, or when moto has no
        backend of these names) in ``region`` and partition-wide (S3, IAM). Call under ``lock``."""
        partitions = _partitions()
        in_use = _backends_in_use()
        wanted = None if services is None else set(services)
        if wanted and not any(key[0] in wanted for key in in_use):
            wanted = None
        rows: list[tuple[str, str, str, bytes | None, bytes]] = []
        bodies_only: list[tuple[bytes, str, str, str]] = []
        for key, backend in in_use.items():
            service, owner, where = key
            written = self._written.get(key)
            touched = (
                owner == account and (where == region or where in partitions) and (wanted is None or service in wanted)
            )
            if written is not None and not touched:
                continue
            try:
                if written is None or backend_pickle.rewrites_base(service, action):
                    base, objects = backend_pickle.dump_base(service, backend)
                    body = backend_pickle.dump_body(backend, objects)
                    rows.append((service, owner, where, base, body))
                    self._written[key] = _Written(body, objects)
                    continue
                body = backend_pickle.dump_body(backend, written.base)
            except Exception:  # a service whose objects cannot be pickled stays in memory only
                log.exception("moto's %s backend for %s/%s cannot be persisted", service, owner, where)
                self._written.setdefault(key, _Written(b"", None))
                continue
            if body != written.body:
                bodies_only.append((body, service, owner, where))
                written.body = body
        if rows or bodies_only:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT OR REPLACE INTO backends VALUES (?, ?, ?, ?, ?)", rows)
                self._db.executemany(
                    "UPDATE backends SET body = ? WHERE service = ? AND account = ? AND region = ?", bodies_only
                )

    def clear(self) -> None:
        """Forget every stored backend (``POST /moto-api/reset``). Call under ``lock``."""
        self._db.execute("DELETE FROM backends")
        self._written.clear()

    def close(self) -> None:
        self._db.close()
