"""Durable storage of resources in SQLite (WAL mode), one row per resource.

A whole API call's changes are written in one SQLite transaction with ``synchronous=FULL``, so once the
API has answered, the change survives ``kill -9`` of the emulator and even a power cut.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from api_models.resources import RESOURCE_TYPES, Resource

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    key  TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
)
"""


def open_durable(state_dir: Path, name: str, schema: str) -> sqlite3.Connection:
    """A state file whose committed transactions survive ``kill -9`` and power cuts (WAL, synchronous=FULL).

    One connection, shared across threads: its owner serialises access under a lock of its own. Autocommit
    (``isolation_level=None``): the owner opens each transaction explicitly."""
    state_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(state_dir / name, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(schema)
    return db


class SqlitePersistence:
    def __init__(self, state_dir: Path) -> None:
        self._db = open_durable(state_dir, "elbv2.sqlite3", _SCHEMA)  # the store's lock serialises access

    def load(self) -> Iterator[Resource]:
        for kind, body in self._db.execute("SELECT kind, body FROM resources ORDER BY rowid"):
            yield RESOURCE_TYPES[kind].model_validate_json(body)

    def commit(self, upserts: Iterable[Resource], deletes: Iterable[str]) -> None:
        rows = [(r.key, r.kind, r.model_dump_json()) for r in upserts]
        with self._db:  # one transaction: all of the call's changes, or none
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM resources WHERE key = ?", [(k,) for k in deletes])
            self._db.executemany("INSERT OR REPLACE INTO resources (key, kind, body) VALUES (?, ?, ?)", rows)

    def clear(self) -> None:
        self._db.execute("DELETE FROM resources")

    def close(self) -> None:
        self._db.close()
