"""``Marker``/``PageSize`` pagination of the Describe* operations.

A marker names the last item returned (its page key, e.g. ``(name, ARN)``), never an offset: deleting
items between two pages then shifts nothing, and no item that exists throughout a listing is skipped or
repeated. A listing that spans pages is therefore in page-key order; one that fits in a single page keeps
its natural order (creation order for most resources). Lists that cannot change between two calls (SSL
policies, account limits) are keyed by position. ``NextMarker`` is omitted on the last page, which is
what botocore's paginators stop on.
"""

from __future__ import annotations

import base64
import json
from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from emulator.errors import validation_error

T = TypeVar("T")
PageKey = tuple[int | str, ...]

DEFAULT_PAGE_SIZE = 400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def paginate(
    items: list[T], request: dict[str, Any], key: Callable[[T], PageKey] | None = None
) -> tuple[list[T], str | None]:
    """The page of ``items`` the request asks for, and the marker of the next page (None on the last).

    ``key`` gives each item a unique, immutable page key; without it the list must be the same on every
    call and positions are the keys."""
    marker = request.get("Marker") or None
    size = request.get("PageSize", DEFAULT_PAGE_SIZE)
    if marker is None and len(items) <= size:
        return items, None
    keyed: list[tuple[PageKey, T]]
    if key is None:
        keyed = [((index,), item) for index, item in enumerate(items)]
    else:
        keyed = sorted(((key(item), item) for item in items), key=lambda pair: pair[0])
    keys = [page_key for page_key, _ in keyed]
    start = 0
    if marker is not None:
        try:
            after = _decoded(marker)
            if keys and tuple(map(type, after)) != tuple(map(type, keys[0])):
                raise ValueError(marker)  # a marker of another listing: its key has another shape
            start = bisect_right(keys, after)
        except ValueError:
            raise validation_error(f"The marker '{marker}' is not valid") from None  # wording inferred
    page = keyed[start:start + size]
    next_marker = _encoded(page[-1][0]) if start + size < len(keyed) else None
    return [item for _, item in page], next_marker


def instant(moment: datetime) -> int:
    """A timestamp as whole microseconds, for page keys (exact, unlike a float)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _encoded(page_key: PageKey) -> str:
    return base64.urlsafe_b64encode(json.dumps(page_key, separators=(",", ":")).encode()).decode().rstrip("=")


def _decoded(marker: str) -> PageKey:
    """The page key a marker names; ValueError (base64, UTF-8, JSON or shape) when it names none."""
    decoded = json.loads(base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)))
    if not isinstance(decoded, list) or not all(type(part) in (int, str) for part in decoded):
        raise ValueError(marker)
    return tuple(decoded)
