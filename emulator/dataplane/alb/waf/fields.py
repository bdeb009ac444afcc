"""FieldToMatch ("Request components in AWS WAF"): which parts of a request a statement inspects, as functions
of the request returning the texts to inspect (a statement matches when one of them matches).

Texts are the request's bytes as latin-1 ``str``, as they arrived (no decoding: that is what URL_DECODE is for).
Body and JsonBody see the first ``BODY_LIMIT`` bytes of the body (the ALB default of 8 KB), waited for by the
web ACL stage (``acl``); a longer body is "oversize" and its OversizeHandling decides: CONTINUE inspects the first
8 KB, MATCH matches, NO_MATCH does not (a field then returns True / False instead of texts). UriFragment and the
JA3/JA4 fingerprints are not inspected: they raise ``UnsupportedDefinition`` and the web ACL fails closed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.waf.transforms import UnsupportedDefinition

BODY_LIMIT = 8 * 1024  # "Body inspection size limit": 8 KB for ALBs


class Inspection:
    """One request being evaluated: the request, its body's first ``BODY_LIMIT`` bytes (latin-1) and whether it
    is longer, the labels rules have added so far, the time."""

    __slots__ = ("request", "labels", "now", "body", "oversize", "_headers", "_pairs", "_query")

    def __init__(self, request: Request, now: float, body: str = "", oversize: bool = False) -> None:
        self.request = request
        self.labels: list[str] = []
        self.now = now
        self.body, self.oversize = body, oversize
        self._headers: dict[bytes, list[str]] | None = None
        self._pairs: list[tuple[str, str]] | None = None
        self._query: list[tuple[str, str]] | None = None

    def query_pairs(self) -> list[tuple[str, str]]:
        """The query's (name, value) arguments as sent (not decoded), split once per request."""
        pairs = self._query
        if pairs is None:
            pairs = self._query = _raw_pairs(self.request)
        return pairs

    def header_pairs(self) -> list[tuple[str, str]]:
        """Every (name, value) header, decoded once per request (HTTP/2 pseudo-headers left out)."""
        pairs = self._pairs
        if pairs is None:
            pairs = self._pairs = [(name.decode("latin-1"), value.decode("latin-1"))
                                   for name, value in self.request.headers if not name.startswith(b":")]
        return pairs

    def header(self, name: bytes) -> list[str]:
        """The values of header ``name`` (lower case), from a map built once per request."""
        headers = self._headers
        if headers is None:
            headers = self._headers = {}
            for key, value in self.request.headers:
                found = headers.get(key)
                if found is None:
                    headers[key] = [value.decode("latin-1")]
                else:
                    found.append(value.decode("latin-1"))
        return headers.get(name) or _NONE


Texts = list[str] | bool  # the texts to inspect, or the statement's verdict (an oversize body's handling)
Field = Callable[[Inspection], Texts]
RequestField = Callable[[Request], list[str]]
_NONE: list[str] = []


def _raw_pairs(request: Request) -> list[tuple[str, str]]:
    pairs = []
    for part in request.query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((key, value))
    return pairs


def _headers(inspection: Inspection) -> list[tuple[str, str]]:
    return inspection.header_pairs()


def _cookies(inspection: Inspection) -> list[tuple[str, str]]:
    pairs = []
    for value in inspection.header(b"cookie"):
        for part in value.split(";"):
            part = part.strip()
            if part:
                key, _, cookie = part.partition("=")
                pairs.append((key, cookie))
    return pairs


def _pattern(spec: dict[str, Any], pairs: Callable[[Inspection], list[tuple[str, str]]], included: str,
             excluded: str, fold: bool) -> Field:
    """Headers / Cookies: MatchPattern (All, Included*, Excluded*) then MatchScope (KEY, VALUE, ALL)."""
    pattern = spec.get("MatchPattern") or {}
    scope = spec.get("MatchScope") or "ALL"
    norm: Callable[[str], str] = str.lower if fold else (lambda key: key)
    keep: Callable[[str], bool] | None = None
    if included in pattern:
        wanted = {norm(name) for name in pattern[included] or ()}
        keep = lambda key: norm(key) in wanted  # noqa: E731
    elif excluded in pattern:
        unwanted = {norm(name) for name in pattern[excluded] or ()}
        keep = lambda key: norm(key) not in unwanted  # noqa: E731
    if keep is None and scope == "KEY":
        return lambda inspection: [key for key, _ in pairs(inspection)]
    if keep is None and scope == "VALUE":
        return lambda inspection: [value for _, value in pairs(inspection)]

    def field(inspection: Inspection) -> list[str]:
        texts: list[str] = []
        for key, value in pairs(inspection):
            if keep is None or keep(key):
                if scope in ("KEY", "ALL"):
                    texts.append(key)
                if scope in ("VALUE", "ALL"):
                    texts.append(value)
        return texts
    return field


def compile_field(spec: dict[str, Any]) -> Field:
    """The texts a FieldToMatch inspects, as a function of the inspection."""
    if isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in ("Body", "JsonBody"):
        return _body_field(spec)
    if isinstance(spec, dict) and len(spec) == 1 and "SingleHeader" in spec:
        name = str((spec["SingleHeader"] or {}).get("Name", "")).lower().encode("latin-1")
        return lambda inspection: inspection.header(name)
    if isinstance(spec, dict) and len(spec) == 1 and "Headers" in spec:
        return _pattern(spec["Headers"] or {}, _headers, "IncludedHeaders", "ExcludedHeaders", fold=True)
    if isinstance(spec, dict) and len(spec) == 1 and "Cookies" in spec:
        return _pattern(spec["Cookies"] or {}, _cookies, "IncludedCookies", "ExcludedCookies", fold=False)
    if isinstance(spec, dict) and len(spec) == 1 and "SingleQueryArgument" in spec:
        arg = str((spec["SingleQueryArgument"] or {}).get("Name", "")).lower()  # AWS: case-insensitive name
        return lambda inspection: [value for key, value in inspection.query_pairs() if key.lower() == arg]
    if isinstance(spec, dict) and len(spec) == 1 and "AllQueryArguments" in spec:
        return lambda inspection: [value for _, value in inspection.query_pairs()]
    if isinstance(spec, dict) and len(spec) == 1 and "HeaderOrder" in spec:
        return lambda inspection: [":".join(name for name, _ in inspection.header_pairs())]
    of_request = compile_request_field(spec)
    return lambda inspection: of_request(inspection.request)


def _body_field(spec: dict[str, Any]) -> Field:
    (kind, options), = spec.items()
    options = options or {}
    handling = options.get("OversizeHandling") or "CONTINUE"
    if kind == "Body":
        texts: Callable[[str], Texts] = lambda body: [body]  # noqa: E731
    else:
        texts = _json_texts(options)

    def field(inspection: Inspection) -> Texts:
        if inspection.oversize and handling != "CONTINUE":
            return handling == "MATCH"
        return texts(inspection.body)
    return field


def _json_texts(options: dict[str, Any]) -> Callable[[str], Texts]:
    """JsonBody: MatchPattern All or IncludedPaths (JSON pointers), MatchScope KEY / VALUE / ALL,
    InvalidFallbackBehavior MATCH / NO_MATCH / EVALUATE_AS_STRING (the default here: the body as text)."""
    pattern, scope = options.get("MatchPattern") or {}, options.get("MatchScope") or "ALL"
    paths = [path for path in pattern.get("IncludedPaths") or ()]
    invalid = options.get("InvalidFallbackBehavior") or "EVALUATE_AS_STRING"

    def walk(node: Any, pointer: str, inside: bool, out: list[str]) -> None:
        inside = inside or not paths or pointer in paths
        if isinstance(node, dict):
            for key, value in node.items():
                child = f"{pointer}/{key}"
                if (inside or child in paths) and scope in ("KEY", "ALL"):
                    out.append(str(key))
                walk(value, child, inside, out)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{pointer}/{index}", inside, out)
        elif inside and scope in ("VALUE", "ALL"):
            out.append(node if isinstance(node, str) else json.dumps(node))

    def texts(body: str) -> Texts:
        try:
            document = json.loads(body.encode("latin-1").decode("utf-8"))
        except ValueError:
            return [body] if invalid == "EVALUATE_AS_STRING" else invalid == "MATCH"
        out: list[str] = []
        walk(document, "", False, out)
        return out
    return texts


def single_text(spec: dict[str, Any]) -> Callable[[Request], str] | None:
    """The field as one text, for the fields that always have exactly one (a faster path); else None."""
    kind = next(iter(spec)) if isinstance(spec, dict) and len(spec) == 1 else None
    if kind == "UriPath":
        return lambda request: request.path
    if kind == "QueryString":
        return lambda request: request.query
    if kind == "Method":
        return lambda request: request.method
    return None


def compile_request_field(spec: dict[str, Any]) -> RequestField:
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
    if kind == "Cookies":  # (a rate-based rule's Cookie key)
        cookies = _pattern(options, _cookies, "IncludedCookies", "ExcludedCookies", fold=False)
        return lambda request: cast(list[str], cookies(Inspection(request, 0.0)))
    raise UnsupportedDefinition(f"FieldToMatch {kind}")
