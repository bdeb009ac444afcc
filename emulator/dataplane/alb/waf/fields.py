"""FieldToMatch ("Request components in AWS WAF"): which parts of a request a statement inspects, as functions
of the request returning the texts to inspect (a statement matches when one of them matches).

Texts are the request's bytes as latin-1 ``str``, as they arrived (no decoding: that is what URL_DECODE is for).
Body, JsonBody, UriFragment and the JA3/JA4 fingerprints are not inspected: they raise ``UnsupportedDefinition``
and the web ACL fails closed (``acl``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.waf.transforms import UnsupportedDefinition

Field = Callable[[Request], list[str]]


def _raw_pairs(request: Request) -> list[tuple[str, str]]:
    pairs = []
    for part in request.query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((key, value))
    return pairs


def _headers(request: Request) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers
            if not name.startswith(b":")]


def _cookies(request: Request) -> list[tuple[str, str]]:
    pairs = []
    for value in request.header_values(b"cookie"):
        for part in value.split(";"):
            part = part.strip()
            if part:
                key, _, cookie = part.partition("=")
                pairs.append((key, cookie))
    return pairs


def _pattern(spec: dict[str, Any], pairs: Callable[[Request], list[tuple[str, str]]], included: str,
             excluded: str, fold: bool) -> Field:
    """Headers / Cookies: MatchPattern (All, Included*, Excluded*) then MatchScope (KEY, VALUE, ALL)."""
    pattern = spec.get("MatchPattern") or {}
    scope = spec.get("MatchScope") or "ALL"
    norm: Callable[[str], str] = str.lower if fold else (lambda key: key)
    keep: Callable[[str], bool]
    if included in pattern:
        wanted = {norm(name) for name in pattern[included] or ()}
        keep = lambda key: norm(key) in wanted  # noqa: E731
    elif excluded in pattern:
        unwanted = {norm(name) for name in pattern[excluded] or ()}
        keep = lambda key: norm(key) not in unwanted  # noqa: E731
    else:
        keep = lambda key: True  # noqa: E731

    def field(request: Request) -> list[str]:
        texts: list[str] = []
        for key, value in pairs(request):
            if keep(key):
                if scope in ("KEY", "ALL"):
                    texts.append(key)
                if scope in ("VALUE", "ALL"):
                    texts.append(value)
        return texts
    return field


def compile_field(spec: dict[str, Any]) -> Field:
    if not isinstance(spec, dict) or len(spec) != 1:
        raise UnsupportedDefinition(f"FieldToMatch {sorted(spec) if isinstance(spec, dict) else spec!r}")
    (kind, options), = spec.items()
    options = options or {}
    if kind == "UriPath":
        return lambda request: [request.path]
    if kind == "QueryString":
        return lambda request: [request.query]
    if kind == "Method":
        return lambda request: [request.method]
    if kind == "SingleHeader":
        name = str(options.get("Name", "")).lower().encode("latin-1")
        return lambda request: request.header_values(name)
    if kind == "SingleQueryArgument":
        arg = str(options.get("Name", "")).lower()  # AWS: the argument name is case-insensitive
        return lambda request: [value for key, value in _raw_pairs(request) if key.lower() == arg]
    if kind == "AllQueryArguments":
        return lambda request: [value for _, value in _raw_pairs(request)]
    if kind == "Headers":
        return _pattern(options, _headers, "IncludedHeaders", "ExcludedHeaders", fold=True)
    if kind == "Cookies":
        return _pattern(options, _cookies, "IncludedCookies", "ExcludedCookies", fold=False)
    if kind == "HeaderOrder":  # the header names in arrival order, colon-separated
        return lambda request: [":".join(name for name, _ in _headers(request))]
    raise UnsupportedDefinition(f"FieldToMatch {kind}")
