"""The store resource kinds the data plane is built from, declared as data, and the one way to read them.

``desired.py`` reads the store only through ``read``, which refuses a kind missing from ``READS``, so the
declaration cannot fall behind the code. The API imports this module (and nothing else of the data plane)
to decide which writes wait for the data plane before they are answered (``api.elbv2.needs_data_plane``).
"""

from __future__ import annotations

from typing import TypeVar, cast

from api_models.resources import Listener, LoadBalancer, Resource, Rule, TargetGroup, TargetRegistration
from api_models.trust_stores import TrustStore

Snapshot = dict[str, list[Resource]]
R = TypeVar("R", bound=Resource)

# Trust stores are read too: mTLS ``verify`` listeners check client certificates against their CA bundle
# and revocations.
READS: frozenset[str] = frozenset(
    cls.kind for cls in (LoadBalancer, Listener, Rule, TargetGroup, TargetRegistration, TrustStore)
)


def read(snapshot: Snapshot, cls: type[R]) -> list[R]:
    """Every resource of ``cls``'s kind in the snapshot; a kind missing from ``READS`` is refused."""
    if cls.kind not in READS:
        raise KeyError(f"the data plane reads {cls.kind!r} resources but READS does not declare them")
    return cast("list[R]", snapshot.get(cls.kind, []))
