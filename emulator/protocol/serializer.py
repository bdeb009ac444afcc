"""Renders results and errors as the Query-protocol XML that botocore's ``QueryParser`` reads.

Each shape is compiled once into an emitter closure that appends XML fragments to a list, so
serializing a response is a walk over precomputed tags plus one ``''.join``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from botocore.model import Shape

from emulator.errors import AwsError

from .model import operation_model, xml_namespace

XML_CONTENT_TYPE = "text/xml"

# Appends the XML content (not the enclosing tag) of one value to the output list.
_Emitter = Callable[[Any, list[str]], None]


def serialize_result(operation: str, result: dict[str, Any] | None, request_id: str) -> bytes:
    """``<OpResponse><OpResult>…</OpResult><ResponseMetadata>…</OpResponse>`` for ``result``."""
    head, write_result, tail = _envelope(operation)
    out = [head]
    write_result(result or {}, out)
    out.append(tail.format(request_id=_escape(request_id)))
    return "".join(out).encode("utf-8")


def serialize_error(error: AwsError, request_id: str) -> bytes:
    """AWS's ``ErrorResponse`` document; botocore maps ``Code`` to the modeled exception."""
    return (
        f'<ErrorResponse xmlns="{xml_namespace()}"><Error>'
        f"<Type>{error.fault}</Type><Code>{_sanitize(error.code)}</Code>"
        f"<Message>{_sanitize(error.message)}</Message></Error>"
        f"<RequestId>{_sanitize(request_id)}</RequestId></ErrorResponse>"
    ).encode()


@cache
def _envelope(operation: str) -> tuple[str, _Emitter, str]:
    """The response's opening tag, the writer of its ``<OpResult>`` and the closing template."""
    shape = operation_model(operation).output_shape
    emit_content: _Emitter
    if shape is None:
        wrapper, emit_content = f"{operation}Result", _nothing
    else:
        wrapper, emit_content = shape.serialization.get("resultWrapper", f"{operation}Result"), _emitter(shape)
    head = f'<{operation}Response xmlns="{xml_namespace()}">'
    tail = f"<ResponseMetadata><RequestId>{{request_id}}</RequestId></ResponseMetadata></{operation}Response>"
    return head, _element(wrapper, emit_content), tail


def _nothing(value: Any, out: list[str]) -> None:
    """Content of an operation without an output shape."""


@cache
def _emitter(shape: Shape) -> _Emitter:
    kind = shape.type_name
    if kind == "structure":
        return _structure_emitter(shape)
    if kind == "list":
        return _list_emitter(shape)
    if kind == "map":
        return _map_emitter(shape)
    scalar = _SCALARS.get(kind, _text)
    return lambda value, out: out.append(scalar(value))


def _structure_emitter(shape: Shape) -> _Emitter:
    # (member name, writes the member's element(s) into the structure's content)
    members = [(name, _member_writer(name, member)) for name, member in shape.members.items()]

    def emit(value: dict[str, Any], out: list[str]) -> None:
        for name, write in members:
            member_value = value.get(name)
            if member_value is not None:
                write(member_value, out)

    return emit


def _member_writer(name: str, member: Shape) -> _Emitter:
    """Writes one member; flattened lists/maps repeat their element instead of nesting items."""
    if member.serialization.get("flattened") and member.type_name in ("list", "map"):
        if member.type_name == "list":
            tag = member.member.serialization.get("name") or member.serialization.get("name", name)
            return _repeated(tag, _emitter(member.member))
        return _repeated(member.serialization.get("name", name), _map_entry_emitter(member))
    return _element(member.serialization.get("name", name), _emitter(member))


def _element(tag: str, emit_content: _Emitter) -> _Emitter:
    """``<tag>content</tag>``, or ``<tag/>`` when the content is empty."""
    open_tag, close_tag, empty_tag = f"<{tag}>", f"</{tag}>", f"<{tag}/>"

    def emit(value: Any, out: list[str]) -> None:
        start = len(out)
        out.append(open_tag)
        emit_content(value, out)
        if len(out) == start + 1:
            out[start] = empty_tag
        else:
            out.append(close_tag)

    return emit


def _repeated(tag: str, emit_item: _Emitter) -> _Emitter:
    """One ``<tag>`` per item of a list, or per entry of a map."""
    write_item = _element(tag, emit_item)

    def emit(value: Any, out: list[str]) -> None:
        items = value.items() if isinstance(value, dict) else value
        for item in items:
            write_item(item, out)

    return emit


def _list_emitter(shape: Shape) -> _Emitter:
    return _repeated(shape.member.serialization.get("name", "member"), _emitter(shape.member))


def _map_emitter(shape: Shape) -> _Emitter:
    return _repeated("entry", _map_entry_emitter(shape))


def _map_entry_emitter(shape: Shape) -> _Emitter:
    """The ``<key>…</key><value>…</value>`` pair of one ``(key, value)`` map item."""
    write_key = _element(shape.key.serialization.get("name", "key"), _emitter(shape.key))
    write_value = _element(shape.value.serialization.get("name", "value"), _emitter(shape.value))

    def emit(pair: tuple[Any, Any], out: list[str]) -> None:
        write_key(pair[0], out)
        write_value(pair[1], out)

    return emit


# In error documents, which may echo any request text (a form field's name, a handler's own message):
# the markup characters and \r escaped, and characters XML 1.0 cannot carry at all (§2.2 Char) replaced
# by U+FFFD. Results need only ``_escape``: every stored string passed the parser, which refuses those
# characters, and results are the hot path.
_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}


def _escape_one(match: re.Match[str]) -> str:
    return _ESCAPES.get(match.group(), "\ufffd")


def _sanitize(text: str) -> str:
    return _SPECIAL.sub(_escape_one, text)


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")  # XML parsers would otherwise normalise it to \n
    return text


def _text(value: Any) -> str:
    return _escape(str(value))


def _boolean(value: Any) -> str:
    # Attribute-style string values ("true"/"false") are accepted as well as bools.
    return "true" if value is True or value == "true" else "false"


def _integer(value: Any) -> str:
    return str(int(value))


def _double(value: Any) -> str:
    return repr(float(value))


def _timestamp(value: Any) -> str:
    """``2017-08-25T21:26:12.920Z``; naive datetimes are taken as UTC, strings pass through."""
    if not isinstance(value, datetime):
        return _text(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


_SCALARS: dict[str, Callable[[Any], str]] = {
    "boolean": _boolean,
    "integer": _integer,
    "long": _integer,
    "double": _double,
    "float": _double,
    "timestamp": _timestamp,
}
