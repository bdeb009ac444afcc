"""``Marker``/``PageSize`` pagination of the Describe* operations (checklist §1.4).

The marker is the opaque position of the next page; ``NextMarker`` is omitted on the last page, which
is what botocore's paginators stop on.
"""

from __future__ import annotations

from typing import Any, TypeVar

from emulator.errors import validation_error

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 400


def paginate(items: list[T], request: dict[str, Any]) -> tuple[list[T], str | None]:
    """The page of ``items`` the request asks for, and the marker of the next page (None on the last)."""
    marker = request.get("Marker")
    if marker is not None and not marker.isdigit():
        raise validation_error(f"The marker '{marker}' is not valid")  # [I]
    start = int(marker) if marker else 0
    end = start + request.get("PageSize", DEFAULT_PAGE_SIZE)
    return items[start:end], (str(end) if end < len(items) else None)
