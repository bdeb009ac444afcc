"""TextTransformations ("Text transformation options" in the AWS WAF developer guide) as a table of pure
functions on the inspected text, applied in ascending Priority before a statement matches.

Text is handled as latin-1 ``str`` (one character per byte of the request), so byte-oriented transformations
(URL_DECODE, BASE64_DECODE, MD5, ...) work on the request's bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

Transform = Callable[[str], str]

_SPACE = re.compile(r"[ \t\n\r\f\v]+")  # COMPRESS_WHITE_SPACE: 0x20, \f, \t, \n, \r, \v (and NBSP, below)
_PERCENT_U = re.compile(r"%u([0-9a-fA-F]{4})")
_SQL_HEX = re.compile(r"0x((?:[0-9a-fA-F]{2})+)")
_JS_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|([0-7]{1,3})|(.))", re.S)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.S)
_C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\",
              "?": "?", "'": "'", '"': '"'}
_C_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|([0-7]{1,3})|(.))", re.S)


def _latin(data: bytes) -> str:
    return data.decode("latin-1")


def _url_decode(text: str) -> str:
    if "%" not in text and "+" not in text:
        return text
    return _latin(unquote_to_bytes(text.replace("+", " ")))


def _url_decode_uni(text: str) -> str:
    """URL_DECODE plus Microsoft-style %uXXXX (full-width ASCII folded to ASCII, others to their low byte)."""
    def one(found: re.Match[str]) -> str:
        code = int(found.group(1), 16)
        if 0xFF01 <= code <= 0xFF5E:
            code -= 0xFEE0
        return chr(code & 0xFF)
    return _url_decode(_PERCENT_U.sub(one, text))


def _html_entity_decode(text: str) -> str:
    if "&" not in text:
        return text
    return _latin(html.unescape(text).encode("utf-8", "surrogatepass"))


def _compress_white_space(text: str) -> str:
    return _SPACE.sub(" ", text.replace("\xa0", " "))


def _cmd_line(text: str) -> str:
    """CMD_LINE: delete \\ " ' ^; delete spaces before / and (; replace , ; with a space; compress white space;
    lowercase."""
    for char in "\\\"'^":
        text = text.replace(char, "")
    text = re.sub(r"\s+(?=[/(])", "", text)
    text = text.replace(",", " ").replace(";", " ")
    return _compress_white_space(text).lower()


def _base64_decode(text: str) -> str:
    try:
        return _latin(base64.b64decode(text.strip() + "=" * (-len(text.strip()) % 4)))
    except (binascii.Error, ValueError):
        return text


def _hex_decode(text: str) -> str:
    try:
        return _latin(bytes.fromhex(text))
    except ValueError:
        return text


def _normalize_path(text: str, separator: str = "/") -> str:
    """NORMALIZE_PATH: remove multiple slashes, self references (./) and back references (../)."""
    if separator != "/":
        text = text.replace(separator, "/")
    if "//" not in text and "/." not in text and text[:1] != ".":
        return text  # nothing to normalise: nearly every path
    leading, trailing = text.startswith("/"), text.endswith("/") and len(text) > 1
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    result = ("/" if leading else "") + "/".join(parts)
    return result + "/" if trailing and parts else result or ("/" if leading else "")


def _utf8_to_unicode(text: str) -> str:
    """UTF8_TO_UNICODE: UTF-8 sequences become %uHHHH Unicode notation."""
    try:
        decoded = text.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return text
    return "".join(char if ord(char) < 0x80 else f"%u{ord(char):04x}" for char in decoded)


def _md5(text: str) -> str:
    return _latin(hashlib.md5(text.encode("latin-1"), usedforsecurity=False).digest())


def _sql_hex_decode(text: str) -> str:
    return _SQL_HEX.sub(lambda found: _latin(bytes.fromhex(found.group(1))), text)


def _js_decode(text: str) -> str:
    def one(found: re.Match[str]) -> str:
        unicode, hexa, octal, other = found.groups()
        if unicode:
            code = int(unicode, 16)
            return chr(code - 0xFEE0 if 0xFF01 <= code <= 0xFF5E else code & 0xFF)
        if hexa:
            return chr(int(hexa, 16))
        if octal:
            return chr(int(octal, 8) & 0xFF)
        return _C_ESCAPES.get(other, other)
    return _JS_ESCAPE.sub(one, text) if "\\" in text else text


def _css_decode(text: str) -> str:
    def one(found: re.Match[str]) -> str:
        hexa, other = found.groups()
        return chr(int(hexa, 16) & 0xFF) if hexa else ("" if other == "\n" else other)
    return _CSS_ESCAPE.sub(one, text) if "\\" in text else text


def _escape_seq_decode(text: str) -> str:
    def one(found: re.Match[str]) -> str:
        hexa, octal, other = found.groups()
        if hexa:
            return chr(int(hexa, 16))
        if octal:
            return chr(int(octal, 8) & 0xFF)
        return _C_ESCAPES.get(other, "\\" + other)
    return _C_ESCAPE.sub(one, text) if "\\" in text else text


TRANSFORMS: dict[str, Transform] = {
    "NONE": lambda text: text,
    "LOWERCASE": str.lower,
    "URL_DECODE": _url_decode,
    "URL_DECODE_UNI": _url_decode_uni,
    "HTML_ENTITY_DECODE": _html_entity_decode,
    "COMPRESS_WHITE_SPACE": _compress_white_space,
    "CMD_LINE": _cmd_line,
    "BASE64_DECODE": _base64_decode,
    "BASE64_DECODE_EXT": lambda text: _base64_decode(re.sub(r"[^A-Za-z0-9+/]", "", text)),
    "HEX_DECODE": _hex_decode,
    "REMOVE_NULLS": lambda text: text.replace("\x00", ""),
    "REPLACE_NULLS": lambda text: text.replace("\x00", " "),
    "NORMALIZE_PATH": _normalize_path,
    "NORMALIZE_PATH_WIN": lambda text: _normalize_path(text, "\\"),
    "UTF8_TO_UNICODE": _utf8_to_unicode,
    "MD5": _md5,
    "SQL_HEX_DECODE": _sql_hex_decode,
    "JS_DECODE": _js_decode,
    "CSS_DECODE": _css_decode,
    "ESCAPE_SEQ_DECODE": _escape_seq_decode,
    "TRIM": lambda text: text.strip(" \t\n\r\f\v"),
    "REMOVE_COMMENTS": lambda text: re.sub(r"/\*.*?(?:\*/|$)|--.*$|#.*$", "", text, flags=re.S),
}


class UnsupportedDefinition(ValueError):
    """A part of a web ACL this emulator does not evaluate (the web ACL then fails closed: ``acl``)."""


def compile_transforms(specs: Any) -> Transform | None:
    """The TextTransformations of a statement as one function (None: the text as it is)."""
    steps: list[Transform] = []
    for spec in sorted(specs or (), key=lambda spec: int(spec.get("Priority") or 0)):
        kind = spec.get("Type") or "NONE"
        if kind not in TRANSFORMS:
            raise UnsupportedDefinition(f"text transformation {kind}")
        if kind != "NONE":
            steps.append(TRANSFORMS[kind])
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def chained(text: str) -> str:
        for step in steps:
            text = step(text)
        return text
    return chained
