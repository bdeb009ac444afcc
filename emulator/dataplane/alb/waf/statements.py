"""Statements ("Rule statements" in the AWS WAF developer guide) compiled into predicates on an ``Inspection``.

Supported: ByteMatch, RegexMatch, RegexPatternSetReference, SizeConstraint, IPSetReference (with
IPSetForwardedIPConfig), GeoMatch (see ``COUNTRY_HEADER``), LabelMatch, RateBased, And, Or, Not. Anything else
(and ManagedRuleGroup / RuleGroupReference, which ``acl`` compiles as rule lists) raises
``UnsupportedDefinition``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.waf.fields import Inspection, compile_field, compile_request_field, single_text
from emulator.dataplane.alb.waf.rate import RateCounter
from emulator.dataplane.alb.waf.transforms import UnsupportedDefinition, compile_transforms

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# The emulator has no geolocation database: a client's country is the value of this request header when it
# has one (two letters, ISO 3166-1 alpha-2), else unknown (loopback and private sources have no country in AWS
# either), and GeoMatch never matches an unknown country.
COUNTRY_HEADER = b"x-elbv2-emulator-country"
# Clients come back: their parsed addresses are kept (the same peer string, the same address).
peer_address = lru_cache(maxsize=4096)(ipaddress.ip_address)


Statement = Callable[[Inspection], bool]


@dataclass
class Context:
    """What compiling a statement needs: the sets the web ACL references, the label namespace of the rules
    being compiled ("awswaf:<account>:webacl:<name>:" or "...:rulegroup:<name>:"), the rate window scale."""

    document: dict[str, Any]
    namespace: str
    window_scale: float
    notes: list[str] = field(default_factory=list)  # compile-time remarks, logged once per configuration


def _search_string(spec: dict[str, Any]) -> str:
    """ByteMatch's SearchString: base64 on the wire (a blob); as text when it does not decode."""
    text = spec.get("SearchString", "")
    if isinstance(text, bytes):
        return text.decode("latin-1")
    try:
        return base64.b64decode(text, validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        return str(text)


def _matches(spec: dict[str, Any], test: Callable[[str], bool]) -> Statement:
    """A statement on a FieldToMatch: its texts, transformed, one of them passing ``test``."""
    field = spec.get("FieldToMatch") or {}
    extract, single = compile_field(field), single_text(field)
    transform = compile_transforms(spec.get("TextTransformations"))
    if single is not None and transform is None:
        return lambda inspection: test(single(inspection.request))
    if single is not None and transform is not None:
        return lambda inspection: test(transform(single(inspection.request)))

    def statement(inspection: Inspection) -> bool:
        texts = extract(inspection)
        if texts is True or texts is False:
            return texts
        if transform is None:
            return any(test(text) for text in texts)
        return any(test(transform(text)) for text in texts)
    return statement


def _byte_match(spec: dict[str, Any], ctx: Context) -> Statement:
    needle, where = _search_string(spec), spec.get("PositionalConstraint") or "CONTAINS"
    test: Callable[[str], bool]
    if where == "EXACTLY":
        test = needle.__eq__
    elif where == "STARTS_WITH":
        test = lambda text: text.startswith(needle)  # noqa: E731
    elif where == "ENDS_WITH":
        test = lambda text: text.endswith(needle)  # noqa: E731
    elif where == "CONTAINS":
        test = lambda text: needle in text  # noqa: E731
    elif where == "CONTAINS_WORD":  # the needle, bounded by non-word characters or the text's ends
        word = re.compile(r"(?<!\w)" + re.escape(needle) + r"(?!\w)")
        test = lambda text: word.search(text) is not None  # noqa: E731
    else:
        raise UnsupportedDefinition(f"PositionalConstraint {where}")
    return _matches(spec, test)


def _regexes(patterns: list[str]) -> Callable[[str], bool]:
    compiled = [re.compile(pattern, re.S) for pattern in patterns]
    return lambda text: any(regex.search(text) is not None for regex in compiled)


def _regex_match(spec: dict[str, Any], ctx: Context) -> Statement:
    return _matches(spec, _regexes([spec.get("RegexString", "")]))


def _regex_set(spec: dict[str, Any], ctx: Context) -> Statement:
    patterns = ctx.document.get("RegexPatternSets", {}).get(spec.get("ARN"))
    if patterns is None:
        raise UnsupportedDefinition(f"regex pattern set {spec.get('ARN')} (it does not exist)")
    return _matches(spec, _regexes(patterns))


_COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    "EQ": int.__eq__, "NE": int.__ne__, "LE": int.__le__, "LT": int.__lt__, "GE": int.__ge__, "GT": int.__gt__,
}


def _size(spec: dict[str, Any], ctx: Context) -> Statement:
    compare, size = _COMPARISONS[spec.get("ComparisonOperator") or "EQ"], int(spec.get("Size") or 0)
    return _matches(spec, lambda text: compare(len(text), size))


def forwarded_ips(config: dict[str, Any]) -> Callable[[Request], list[IpAddress] | None]:
    """The addresses an IPSetForwardedIPConfig / ForwardedIPConfig names (Position FIRST, LAST or ANY of the
    header's comma-separated list); None when the header is missing or an address is not valid: the config's
    FallbackBehavior decides."""
    name, position = str(config.get("HeaderName", "")).lower().encode("latin-1"), config.get("Position") or "FIRST"

    def addresses(request: Request) -> list[IpAddress] | None:
        values = request.header_values(name)
        if not values:
            return None
        parts = [part.strip() for part in ",".join(values).split(",") if part.strip()]
        if position == "FIRST":
            parts = parts[:1]
        elif position == "LAST":
            parts = parts[-1:]
        try:
            return [ipaddress.ip_address(part) for part in parts] or None
        except ValueError:
            return None
    return addresses


class AddressSet:
    """An IP set's CIDRs as sorted, merged integer ranges per IP version: a lookup is one bisect."""

    __slots__ = ("ranges",)

    def __init__(self, addresses: list[str]) -> None:
        spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for address in addresses:
            network = ipaddress.ip_network(address, strict=False)
            spans[network.version].append((int(network.network_address), int(network.broadcast_address)))
        self.ranges: dict[int, tuple[list[int], list[int]]] = {}
        for version, found in spans.items():
            merged: list[list[int]] = []
            for low, high in sorted(found):
                if merged and low <= merged[-1][1] + 1:
                    merged[-1][1] = max(merged[-1][1], high)
                else:
                    merged.append([low, high])
            self.ranges[version] = ([low for low, _ in merged], [high for _, high in merged])

    def __contains__(self, address: IpAddress) -> bool:
        lows, highs = self.ranges[address.version]
        value = int(address)
        index = bisect_right(lows, value) - 1
        return index >= 0 and value <= highs[index]


def _ip_set(spec: dict[str, Any], ctx: Context) -> Statement:
    ip_set = ctx.document.get("IPSets", {}).get(spec.get("ARN"))
    if ip_set is None:
        raise UnsupportedDefinition(f"IP set {spec.get('ARN')} (it does not exist)")
    networks = AddressSet(list(ip_set.get("Addresses") or ()))
    contains = networks.__contains__
    config = spec.get("IPSetForwardedIPConfig")
    if not config:
        return lambda inspection: contains(peer_address(inspection.request.peer))
    addresses, fallback = forwarded_ips(config), config.get("FallbackBehavior") == "MATCH"

    def forwarded(inspection: Inspection) -> bool:
        found = addresses(inspection.request)
        return fallback if found is None else any(contains(address) for address in found)
    return forwarded


def _geo(spec: dict[str, Any], ctx: Context) -> Statement:
    countries = frozenset(code.upper() for code in spec.get("CountryCodes") or ())
    ctx.notes.append(f"GeoMatch: countries come from the {COUNTRY_HEADER.decode()} header (no geolocation data)")

    def geo(inspection: Inspection) -> bool:
        values = inspection.header(COUNTRY_HEADER)
        return bool(values) and values[0].strip().upper() in countries
    return geo


def _label(spec: dict[str, Any], ctx: Context) -> Statement:
    key, scope = str(spec.get("Key", "")), spec.get("Scope") or "LABEL"
    full = key if key.startswith("awswaf:") else ctx.namespace + key
    if scope == "NAMESPACE":
        prefix = full if full.endswith(":") else full + ":"
        return lambda inspection: any(label.startswith(prefix) for label in inspection.labels)
    return lambda inspection: full in inspection.labels


def _rate(spec: dict[str, Any], ctx: Context) -> Statement:
    window = float(spec.get("EvaluationWindowSec") or 300) * ctx.window_scale
    counter = RateCounter(int(spec.get("Limit") or 0), window)
    key = _aggregate_key(spec, ctx)
    scope = spec.get("ScopeDownStatement")
    scope_down = compile_statement(scope, ctx) if scope else None

    def rate(inspection: Inspection) -> bool:
        if scope_down is not None and not scope_down(inspection):
            return False
        value = key(inspection)
        return value is not None and counter.over(value, inspection.now)
    return rate


def _aggregate_key(spec: dict[str, Any], ctx: Context) -> Callable[[Inspection], Any]:
    """AggregateKeyType IP, FORWARDED_IP, CONSTANT or CUSTOM_KEYS (IP, ForwardedIP, Header, Cookie,
    QueryArgument, QueryString, HTTPMethod, UriPath, LabelNamespace); None: the request is not counted (a key
    is missing)."""
    kind = spec.get("AggregateKeyType") or "IP"
    if kind == "IP":
        return lambda inspection: inspection.request.peer
    if kind == "CONSTANT":
        return lambda inspection: ""
    if kind == "FORWARDED_IP":
        addresses = forwarded_ips({**(spec.get("ForwardedIPConfig") or {}), "Position": "FIRST"})
        return lambda inspection: (found := addresses(inspection.request)) and str(found[0])
    if kind != "CUSTOM_KEYS":
        raise UnsupportedDefinition(f"AggregateKeyType {kind}")
    parts = [_custom_key(custom, spec, ctx) for custom in spec.get("CustomKeys") or ()]

    def custom(inspection: Inspection) -> tuple[str, ...] | None:
        values = []
        for part in parts:
            value = part(inspection)
            if value is None:
                return None
            values.append(value)
        return tuple(values)
    return custom


def _custom_key(custom: dict[str, Any], spec: dict[str, Any], ctx: Context) -> Callable[[Inspection], str | None]:
    (kind, options), = custom.items()
    options = options or {}
    transform = compile_transforms(options.get("TextTransformations")) or (lambda text: text)
    if kind == "IP":
        return lambda inspection: inspection.request.peer
    if kind == "ForwardedIP":
        addresses = forwarded_ips({**(spec.get("ForwardedIPConfig") or {}), "Position": "FIRST"})
        return lambda inspection: (str(found[0]) if (found := addresses(inspection.request)) else None)
    if kind == "HTTPMethod":
        return lambda inspection: inspection.request.method
    if kind == "LabelNamespace":
        prefix = str(options.get("Namespace", ""))
        return lambda inspection: (",".join(sorted(label for label in inspection.labels if label.startswith(prefix)))
                                   or None)
    fields: dict[str, dict[str, Any]] = {"Header": {"SingleHeader": {"Name": options.get("Name", "")}},
              "Cookie": {"Cookies": {"MatchPattern": {"IncludedCookies": [options.get("Name", "")]},
                                     "MatchScope": "VALUE"}},
              "QueryArgument": {"SingleQueryArgument": {"Name": options.get("Name", "")}},
              "QueryString": {"QueryString": {}}, "UriPath": {"UriPath": {}}}
    if kind not in fields:
        raise UnsupportedDefinition(f"rate-based custom key {kind}")
    extract = compile_request_field(fields[kind])

    def key(inspection: Inspection) -> str | None:
        texts = extract(inspection.request)
        return transform(texts[0]) if texts and texts[0] != "" else None
    return key


def _and(spec: dict[str, Any], ctx: Context) -> Statement:
    parts = [compile_statement(statement, ctx) for statement in spec.get("Statements") or ()]
    return lambda inspection: all(part(inspection) for part in parts)


def _or(spec: dict[str, Any], ctx: Context) -> Statement:
    parts = [compile_statement(statement, ctx) for statement in spec.get("Statements") or ()]
    return lambda inspection: any(part(inspection) for part in parts)


def _not(spec: dict[str, Any], ctx: Context) -> Statement:
    inner = compile_statement(spec.get("Statement") or {}, ctx)
    return lambda inspection: not inner(inspection)


STATEMENTS: dict[str, Callable[[dict[str, Any], Context], Statement]] = {
    "ByteMatchStatement": _byte_match, "RegexMatchStatement": _regex_match,
    "RegexPatternSetReferenceStatement": _regex_set, "SizeConstraintStatement": _size,
    "IPSetReferenceStatement": _ip_set, "GeoMatchStatement": _geo, "LabelMatchStatement": _label,
    "RateBasedStatement": _rate, "AndStatement": _and, "OrStatement": _or, "NotStatement": _not,
}


def compile_statement(spec: dict[str, Any], ctx: Context) -> Statement:
    if not isinstance(spec, dict) or len(spec) != 1:
        raise UnsupportedDefinition(f"statement {sorted(spec) if isinstance(spec, dict) else spec!r}")
    (kind, options), = spec.items()
    if kind not in STATEMENTS:
        raise UnsupportedDefinition(kind)
    return STATEMENTS[kind](options or {}, ctx)
