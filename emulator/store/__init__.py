"""Resource state: the store (source of truth), its SQLite persistence and the target-health board."""

from emulator.store.persistence import SqlitePersistence
from emulator.store.store import Change, Store, Transaction
from emulator.store.target_health import HealthStatus, TargetHealthBoard

__all__ = ["Change", "HealthStatus", "SqlitePersistence", "Store", "TargetHealthBoard", "Transaction"]
