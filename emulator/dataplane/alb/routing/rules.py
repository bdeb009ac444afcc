"""Listener rules compiled once per configuration into fast matchers (AWS "Listener rules for your Application
Load Balancer", condition types: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html).

A rule matches when every condition matches (AND); a condition matches when any of its values does (OR).
Rules are tried in ascending priority and the default rule, which has no conditions, comes last.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence

from api_models.resources import Condition, Rule
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.routing.transforms import Transform

Matcher = Callable[[Request], bool]


def wildcard(pattern: str, ignore_case: bool, escapes: bool = False) -> re.Pattern[str]:
    """AWS wildcards: ``*`` is any run of characters (``/`` included), ``?`` exactly one, whole-value match.
    With ``escapes`` (query-string), ``\\*`` and ``\\?`` are the literal characters."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if escapes and char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


StrMatch = Callable[[str], bool]


def wildcard_matcher(pattern: str, ignore_case: bool) -> StrMatch:
    """``wildcard`` as a predicate. Patterns that are a literal with ``*`` only at its ends (``/api/*``,
    ``*.example.com``, ``exact``) become str comparisons, several times cheaper than the regex, which serves
    the other patterns and (with ``ignore_case``) non-ASCII values, where ``str.lower`` and ``re.IGNORECASE``
    could disagree."""
    regex = wildcard(pattern, ignore_case).fullmatch
    core = pattern.strip("*")
    if "*" in core or "?" in core or not pattern.isascii():
        return lambda value: regex(value) is not None
    if ignore_case:
        core = core.lower()
    starts, ends = pattern.startswith("*"), pattern.endswith("*")
    if starts and ends:
        def test(value: str) -> bool:
            return core in value
    elif starts:
        def test(value: str) -> bool:
            return value.endswith(core)
    elif ends:
        def test(value: str) -> bool:
            return value.startswith(core)
    else:
        def test(value: str) -> bool:
            return value == core
    if not ignore_case:
        return test
    return lambda value: test(value.lower()) if value.isascii() else regex(value) is not None


def _any(patterns: list[StrMatch], value: str) -> bool:
    for matches in patterns:
        if matches(value):
            return True
    return False


def _regexes(config: dict, flags: int = 0) -> list[re.Pattern[str]]:
    """``RegexValues`` (host/path/header): a value matches when the regex is found in it; anchor with ``^$``.
    AWS allows no lookaround or backreferences, a subset of what Python's ``re`` accepts."""
    return [re.compile(v, flags) for v in config.get("RegexValues") or []]


def _found(regexes: list[re.Pattern[str]], value: str) -> bool:
    return any(r.search(value) for r in regexes)


def _host(values: list[str], config: dict) -> Matcher:
    patterns = [wildcard_matcher(v, ignore_case=True) for v in values]
    regexes = _regexes(config, re.IGNORECASE)  # host names are case-insensitive
    if not regexes:
        return lambda req: _any(patterns, req.host_name)

    def match(req: Request) -> bool:
        host = req.host_name
        return _any(patterns, host) or _found(regexes, host)

    return match


def _path(values: list[str], config: dict) -> Matcher:
    patterns = [wildcard_matcher(v, ignore_case=False) for v in values]
    regexes = _regexes(config)
    if not regexes:
        return lambda req: _any(patterns, req.path)
    return lambda req: _any(patterns, req.path) or _found(regexes, req.path)


def _header(config: dict) -> Matcher:
    name = config["HttpHeaderName"].lower().encode("latin-1")
    patterns = [wildcard_matcher(v, ignore_case=True) for v in config.get("Values") or []]
    regexes = _regexes(config)

    def match(req: Request) -> bool:
        for header, value in req.headers:  # no list of decoded values: most requests lack the header
            if header == name:
                text = value.decode("latin-1")
                if _any(patterns, text) or _found(regexes, text):
                    return True
        return False

    return match


def _method(values: list[str]) -> Matcher:
    methods = frozenset(values)  # exact and case-sensitive
    return lambda req: req.method in methods


def _query(pairs: list[dict]) -> Matcher:
    compiled = [
        (wildcard(p["Key"], True, escapes=True) if p.get("Key") is not None else None, wildcard(p["Value"], True, True))
        for p in pairs
    ]

    def match(req: Request) -> bool:
        for key_pattern, value_pattern in compiled:
            for key, value in req.query_pairs:
                if (key_pattern is None or key_pattern.fullmatch(key)) and value_pattern.fullmatch(value):
                    return True
        return False

    return match


def _source_ip(values: list[str]) -> Matcher:
    networks = [ipaddress.ip_network(v, strict=False) for v in values]  # compared with the TCP peer, not XFF
    return lambda req: any(req.ip in network for network in networks)


def compile_condition(condition: Condition) -> Matcher:
    field = condition["Field"]
    if field == "host-header":
        config = condition.get("HostHeaderConfig") or {}
        return _host(config.get("Values") or condition.get("Values") or [], config)
    if field == "path-pattern":
        config = condition.get("PathPatternConfig") or {}
        return _path(config.get("Values") or condition.get("Values") or [], config)
    if field == "http-header":
        return _header(condition["HttpHeaderConfig"])
    if field == "http-request-method":
        return _method(condition["HttpRequestMethodConfig"]["Values"])
    if field == "query-string":
        return _query(condition["QueryStringConfig"]["Values"])
    if field == "source-ip":
        return _source_ip(condition["SourceIpConfig"]["Values"])
    raise ValueError(f"unknown condition field {field!r}")


# (compiled action, the matching rule's transforms, its priority: 0 for the default rule, as AWS logs it)
Routed = tuple[object, Transform | None, int]


class RuleTable:
    """(matchers, routed) pairs in evaluation order; the action is whatever the caller compiled."""

    __slots__ = ("entries", "default")

    def __init__(self, entries: list[tuple[tuple[Matcher, ...], Routed]], default: object) -> None:
        self.entries = entries
        self.default: Routed = (default, None, 0)

    def route(self, request: Request) -> Routed:
        for matchers, routed in self.entries:
            for matcher in matchers:
                if not matcher(request):
                    break
            else:
                return routed
        return self.default


def compile_rules(rules: Sequence[Rule], compile_action: Callable[[list[dict]], object], default: object) -> RuleTable:
    """``rules`` in evaluation order; ``default`` is the listener's compiled default action."""
    entries: list[tuple[tuple[Matcher, ...], Routed]] = []
    for rule in rules:
        if rule.IsDefault:
            continue  # the listener's DefaultActions are the default rule
        matchers = tuple(compile_condition(c) for c in rule.Conditions)
        transform = Transform(rule.Transforms) if rule.Transforms else None
        entries.append((matchers, (compile_action(rule.Actions), transform, rule.priority_number)))
    return RuleTable(entries, default)
