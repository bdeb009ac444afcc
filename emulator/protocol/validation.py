"""Checks a parsed request against the constraints the elbv2 model declares.

Messages copy AWS's (Coral) wording: ``Value 'x' at 'ipAddressType' failed to satisfy constraint:
Member must satisfy enum value set: [...]``, paths in lowerCamelCase, list items as ``names.1.member``.
All violations of one request are reported together, as AWS does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

# The model's patterns use Java syntax such as \p{L}, which the stdlib ``re`` does not understand.
import regex
from botocore.model import Shape

from emulator.errors import AwsError, validation_error


@dataclass(frozen=True)
class Violation:
    """One failed constraint; ``value`` None renders as AWS's ``Value null``."""

    path: str
    value: Any
    constraint: str

    def describe(self) -> str:
        shown = "null" if self.value is None else f"'{render_value(self.value)}'"
        return f"Value {shown} at '{self.path}' failed to satisfy constraint: {self.constraint}"


def render_value(value: Any) -> str:
    """Java-style ``toString`` of a request value, as AWS echoes it in messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(render_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def member_path(parent: str, member_name: str) -> str:
    """AWS names members lowerCamelCase: ``IpAddressType`` -> ``ipAddressType``."""
    name = member_name[:1].lower() + member_name[1:]
    return f"{parent}.{name}" if parent else name


def item_path(parent: str, index: int) -> str:
    """List items are ``<list>.<1-based index>.member``."""
    return f"{parent}.{index}.member"


def error_for(violations: list[Violation]) -> AwsError:
    """One ``ValidationError`` listing every violation: ``N validation errors detected: a; b``."""
    count = len(violations)
    plural = "error" if count == 1 else "errors"
    details = "; ".join(v.describe() for v in violations)
    return validation_error(f"{count} validation {plural} detected: {details}")


def validate(shape: Shape | None, value: dict[str, Any]) -> None:
    """Raise one ``ValidationError`` if ``value`` breaks any constraint of ``shape``."""
    if shape is None:
        return
    violations: list[Violation] = []
    _check(shape, value, "", violations)
    if violations:
        raise error_for(violations)


def _check(shape: Shape, value: Any, path: str, out: list[Violation]) -> None:
    for check in _checks_for(shape):
        check(shape, value, path, out)


@cache
def _checks_for(shape: Shape) -> tuple[Callable[[Shape, Any, str, list[Violation]], None], ...]:
    """The constraint checks that apply to ``shape``, worked out once per shape."""
    meta = shape.metadata
    checks: list[Callable[[Shape, Any, str, list[Violation]], None]] = []
    if shape.type_name == "structure":
        checks.append(_check_structure)
    elif shape.type_name == "list":
        checks.append(_check_list_items)
    elif shape.type_name == "map":
        checks.append(_check_map_entries)
    if shape.type_name in ("string", "list", "map") and ("min" in meta or "max" in meta):
        checks.append(_check_length)
    if shape.type_name in ("integer", "long", "double", "float") and ("min" in meta or "max" in meta):
        checks.append(_check_range)
    if shape.type_name == "string" and shape.enum:
        checks.append(_check_enum)
    if shape.type_name == "string" and "pattern" in meta:
        checks.append(_check_pattern)
    return tuple(checks)


def _check_structure(shape: Shape, value: dict[str, Any], path: str, out: list[Violation]) -> None:
    for name, member in shape.members.items():
        child_path = member_path(path, name)
        if name not in value:
            if name in shape.required_members:
                out.append(Violation(child_path, None, "Member must not be null"))
            continue
        _check(member, value[name], child_path, out)


def _check_list_items(shape: Shape, value: list[Any], path: str, out: list[Violation]) -> None:
    for index, item in enumerate(value, 1):
        _check(shape.member, item, item_path(path, index), out)


def _check_map_entries(shape: Shape, value: dict[Any, Any], path: str, out: list[Violation]) -> None:
    for key, item in value.items():
        _check(shape.key, key, f"{path}.key", out)
        _check(shape.value, item, f"{path}.{key}", out)


def _check_length(shape: Shape, value: Any, path: str, out: list[Violation]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if high is not None and len(value) > high:
        out.append(Violation(path, value, f"Member must have length less than or equal to {high}"))
    if low is not None and len(value) < low:
        out.append(Violation(path, value, f"Member must have length greater than or equal to {low}"))


def _check_range(shape: Shape, value: Any, path: str, out: list[Violation]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if high is not None and value > high:
        out.append(Violation(path, value, f"Member must have value less than or equal to {high}"))
    if low is not None and value < low:
        out.append(Violation(path, value, f"Member must have value greater than or equal to {low}"))


def _check_enum(shape: Shape, value: str, path: str, out: list[Violation]) -> None:
    if value not in shape.enum:
        allowed = ", ".join(shape.enum)
        out.append(Violation(path, value, f"Member must satisfy enum value set: [{allowed}]"))


def _check_pattern(shape: Shape, value: str, path: str, out: list[Violation]) -> None:
    pattern = shape.metadata["pattern"]
    # Smithy patterns are not implicitly anchored, hence search() rather than fullmatch().
    if _compiled(pattern).search(value) is None:
        out.append(Violation(path, value, f"Member must satisfy regular expression pattern: {pattern}"))


@cache
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)
