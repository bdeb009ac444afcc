"""Decodes Query-protocol form fields into the nested input dict the model describes.

It is the exact inverse of botocore's ``QuerySerializer``: structure members are ``Prefix.Name``
(the member's ``locationName`` if it has one), lists ``Prefix.member.N`` (or the member's
``locationName``; flattened lists drop that level), maps ``Prefix.entry.N.key``/``.value``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.model import Shape

from .model import operation_model
from .validation import Violation, error_for, item_path, member_path, validate

# A form field ``A.b.1`` is stored as ``{"A": {"b": {"1": {_VALUE: text}}}}``.
_Node = dict[str, Any]
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INDEX = re.compile(r"[0-9]{1,9}")  # ASCII only: str.isdigit() also takes "²", which int() refuses
_VALUE = "."  # splitting on "." means no segment can contain one, so this key never clashes
# Characters XML 1.0 cannot carry (§2.2 Char), not even as character references: a value holding one could
# never be returned in a parseable answer, so it is refused instead of stored.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_XML_CONSTRAINT = "Member must contain only characters allowed in XML 1.0"


def parse_request(operation: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The validated input of ``operation`` as nested Python values keyed by member names."""
    shape = operation_model(operation).input_shape
    if shape is None:
        return {}
    params = parse_form(shape, form)
    validate(shape, params)
    return params


def parse_form(shape: Shape, form: Mapping[str, str]) -> dict[str, Any]:
    """Form fields decoded per the structure ``shape``; text that is no valid number/boolean/
    timestamp is a ``ValidationError`` (model constraints are checked separately)."""
    problems: list[Violation] = []
    params = _parse_structure(shape, _build_tree(form), "", problems)
    if problems:
        raise error_for(problems)
    return params


def _build_tree(form: Mapping[str, str]) -> _Node:
    root: _Node = {}
    for key, text in form.items():
        node = root
        for segment in key.split("."):
            node = node.setdefault(segment, {})
        node[_VALUE] = text
    return root


def _parse(shape: Shape, node: _Node, path: str, problems: list[Violation]) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _parse_structure(shape, node, path, problems)
    if kind == "list":
        return _parse_list(shape, node, path, problems)
    if kind == "map":
        return _parse_map(shape, node, path, problems)
    return _parse_scalar(shape, node.get(_VALUE, ""), path, problems)


def _parse_structure(shape: Shape, node: _Node, path: str, problems: list[Violation]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for name, member in shape.members.items():
        child = node.get(_wire_name(member, name))
        if child is not None:
            parsed[name] = _parse(member, child, member_path(path, name), problems)
    return parsed


def _wire_name(member: Shape, name: str) -> str:
    """The member's form-field segment; a flattened list takes its items' ``locationName``."""
    if member.type_name == "list" and member.serialization.get("flattened"):
        item_name = member.member.serialization.get("name")
        if item_name:
            return item_name
    return member.serialization.get("name", name)


def _parse_list(shape: Shape, node: _Node, path: str, problems: list[Violation]) -> list[Any]:
    # ``Names=`` (no items) is how botocore sends an empty list.
    items = node if shape.serialization.get("flattened") else node.get(shape.member.serialization.get("name", "member"), {})
    return [
        _parse(shape.member, child, item_path(path, position), problems)
        for position, child in enumerate(_numbered(items), 1)
    ]


def _parse_map(shape: Shape, node: _Node, path: str, problems: list[Violation]) -> dict[Any, Any]:
    entries = node if shape.serialization.get("flattened") else node.get("entry", {})
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    parsed: dict[Any, Any] = {}
    for entry in _numbered(entries):
        if key_name in entry:
            key = _parse(shape.key, entry[key_name], f"{path}.key", problems)
            parsed[key] = _parse(shape.value, entry.get(value_name, {}), f"{path}.{key}", problems)
    return parsed


def _numbered(node: _Node) -> list[_Node]:
    """Children keyed ``1``, ``2``, ... in numeric order; other keys are ignored like unknown params."""
    indexed = [(int(key), child) for key, child in node.items() if _INDEX.fullmatch(key)]
    return [child for _, child in sorted(indexed, key=lambda pair: pair[0])]


def _parse_scalar(shape: Shape, text: str, path: str, problems: list[Violation]) -> Any:
    if _NOT_XML.search(text) is not None:
        problems.append(Violation(path, text, _NOT_XML_CONSTRAINT))
        return None
    converter = _CONVERTERS.get(shape.type_name)
    if converter is None:
        return text
    try:
        return converter(text)
    except ValueError:
        problems.append(Violation(path, text, f"Member must be a valid {shape.type_name}"))
        return None


def _to_bool(text: str) -> bool:
    if text == "true":
        return True
    if text == "false":
        return False
    raise ValueError(text)


def _to_int(text: str) -> int:
    # Python's int() would also take "1_000" or " 1"; AWS accepts only plain decimal digits.
    if _INTEGER.fullmatch(text) is None:
        raise ValueError(text)
    return int(text)


def _to_datetime(text: str) -> datetime:
    """ISO-8601 as botocore sends it; epoch seconds also accepted. Naive values are UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.fromtimestamp(float(text), UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "boolean": _to_bool,
    "integer": _to_int,
    "long": _to_int,
    "double": float,
    "float": float,
    "timestamp": _to_datetime,
}
