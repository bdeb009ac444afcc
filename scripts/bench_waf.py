"""WAF benchmark (run by hand): what evaluating a web ACL adds to each ALB request.

The web ACL stage (``emulator.dataplane.alb.waf.acl.WebAcl``) is compiled from a 20-rule web ACL of the usual
kinds (an IP set of 100 CIDRs, string matches with URL_DECODE / LOWERCASE / NORMALIZE_PATH on the path, query
and headers, regex, a regex pattern set, size constraints, a Count rule that labels, a LabelMatch, GeoMatch,
And / Or / Not, a rate-based rule) and run in process on typical requests that pass every rule (the worst
case: all 20 rules are evaluated, then the default action). Per-call times are measured one by one
(perf_counter_ns), after a warm-up; the table shows p50 and p99 per request shape, as medians over rounds.
Target (2 cores): p50 < 50 us per request for the 20-rule web ACL.

    python scripts/bench_waf.py [--requests 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api_models.web_acls import WebAclView  # noqa: E402
from emulator.dataplane.alb.exchange import Exchange  # noqa: E402
from emulator.dataplane.alb.request import Request  # noqa: E402
from emulator.dataplane.alb.waf.acl import WebAcl  # noqa: E402

TARGET_P50_US = 50.0
IP_SET = "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/bad/1"
REGEX_SET = "arn:aws:wafv2:us-east-1:123456789012:regional/regexpatternset/ids/2"
NONE = [{"Priority": 0, "Type": "NONE"}]


def _byte(search: str, field: dict[str, Any], where: str, *transforms: str) -> dict[str, Any]:
    return {"ByteMatchStatement": {"SearchString": base64.b64encode(search.encode()).decode(),
                                   "FieldToMatch": field, "PositionalConstraint": where,
                                   "TextTransformations": [{"Priority": i, "Type": t}
                                                           for i, t in enumerate(transforms or ("NONE",))]}}


def _rule(name: str, priority: int, statement: dict[str, Any], action: str = "Block", **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Priority": priority, "Statement": statement, "Action": {action: {}}, **extra}


def web_acl() -> WebAclView:
    header = lambda name: {"SingleHeader": {"Name": name}}  # noqa: E731
    path, query = {"UriPath": {}}, {"QueryString": {}}
    statements: list[tuple[dict[str, Any], str]] = [
        ({"IPSetReferenceStatement": {"ARN": IP_SET}}, "Block"),
        (_byte("/admin", path, "STARTS_WITH", "URL_DECODE", "LOWERCASE", "NORMALIZE_PATH"), "Block"),
        (_byte("/wp-login.php", path, "EXACTLY", "LOWERCASE"), "Block"),
        (_byte("<script", query, "CONTAINS", "URL_DECODE", "HTML_ENTITY_DECODE", "LOWERCASE"), "Block"),
        (_byte("union", query, "CONTAINS_WORD", "URL_DECODE", "LOWERCASE"), "Block"),
        (_byte("sqlmap", header("user-agent"), "CONTAINS", "LOWERCASE"), "Block"),
        (_byte("nikto", header("user-agent"), "CONTAINS", "LOWERCASE"), "Block"),
        ({"RegexMatchStatement": {"RegexString": r"\.\./", "FieldToMatch": path,
                                  "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}]}}, "Block"),
        ({"RegexPatternSetReferenceStatement": {"ARN": REGEX_SET, "FieldToMatch": {"SingleQueryArgument": {
            "Name": "id"}}, "TextTransformations": NONE}}, "Block"),
        ({"SizeConstraintStatement": {"FieldToMatch": query, "ComparisonOperator": "GT", "Size": 2048,
                                      "TextTransformations": NONE}}, "Block"),
        ({"SizeConstraintStatement": {"FieldToMatch": header("cookie"), "ComparisonOperator": "GT", "Size": 4096,
                                      "TextTransformations": NONE}}, "Block"),
        (_byte("internal", header("x-debug"), "EXACTLY"), "Count"),
        ({"LabelMatchStatement": {"Scope": "NAMESPACE", "Key": "suspicious:"}}, "Block"),
        ({"GeoMatchStatement": {"CountryCodes": ["KP", "IR", "SY"]}}, "Block"),
        ({"AndStatement": {"Statements": [_byte("POST", {"Method": {}}, "EXACTLY"),
                                          _byte("/upload", path, "STARTS_WITH")]}}, "Block"),
        ({"OrStatement": {"Statements": [_byte(".env", path, "ENDS_WITH"), _byte(".git", path, "CONTAINS")]}},
         "Block"),
        ({"NotStatement": {"Statement": _byte("HTTP", {"Method": {}}, "STARTS_WITH")}}, "Count"),
        (_byte("x-amzn-waf-", {"Headers": {"MatchPattern": {"All": {}}, "MatchScope": "KEY",
                                           "OversizeHandling": "CONTINUE"}}, "STARTS_WITH"), "Block"),
        (_byte("evil", {"Cookies": {"MatchPattern": {"All": {}}, "MatchScope": "VALUE",
                                    "OversizeHandling": "CONTINUE"}}, "CONTAINS"), "Block"),
        ({"RateBasedStatement": {"Limit": 10_000_000, "AggregateKeyType": "IP", "EvaluationWindowSec": 300}},
         "Block"),
    ]
    rules = [_rule(f"r{i}", i, statement, action,
                 **({"RuleLabels": [{"Name": "suspicious:debug"}]} if action == "Count" else {}))
             for i, (statement, action) in enumerate(statements)]
    document = {
        "Rules": rules, "DefaultAction": {"Allow": {}}, "CustomResponseBodies": {},
        "IPSets": {IP_SET: {"Addresses": [f"10.{i}.0.0/16" for i in range(100)], "IPAddressVersion": "IPV4"}},
        "RegexPatternSets": {REGEX_SET: ["^[0-9]+;", "(?i)select.+from"]}, "RuleGroups": {}, "Logging": None,
    }
    return WebAclView("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/bench/3", "bench", "123456789012",
                      json.dumps(document, sort_keys=True))


SHAPES: dict[str, tuple[str, bytes, list[tuple[bytes, bytes]]]] = {
    "GET /": ("GET", b"/", []),
    "GET /api?query": ("GET", b"/api/v1/items?id=abc&page=2&sort=name", []),
    "GET cookies": ("GET", b"/account/settings", [(b"cookie", b"session=abc123; theme=dark; lang=en")]),
}
COMMON = [(b"host", b"app.example.com"), (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"),
          (b"accept", b"text/html,application/xhtml+xml"), (b"accept-language", b"en-US,en;q=0.5"),
          (b"accept-encoding", b"gzip, deflate, br"), (b"connection", b"keep-alive")]


def measure(acl: WebAcl, shape: tuple[str, bytes, list[tuple[bytes, bytes]]], count: int) -> tuple[float, float]:
    method, url, extra = shape
    times: list[int] = []
    for i in range(count + 1000):
        request = Request(f"192.0.2.{i % 250 + 1}", 40000)
        request.method, request.url, request.headers = method, url, [*COMMON, *extra]
        request.host = "app.example.com"
        exchange = Exchange(request, cast(Any, None))
        exchange.request_done = True
        start = time.perf_counter_ns()
        answer = acl.run(exchange)
        elapsed = time.perf_counter_ns() - start
        assert answer is None, "every benchmark request passes the web ACL"
        if i >= 1000:
            times.append(elapsed)
    times.sort()
    return times[len(times) // 2] / 1000, times[len(times) * 99 // 100] / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    acl = WebAcl(web_acl())
    assert acl.failed is None, acl.failed
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in SHAPES}
    for _ in range(args.rounds):
        for name, shape in SHAPES.items():
            results[name].append(measure(acl, shape, args.requests))
    print(f"web ACL of {len(acl.rules)} rules, {args.requests} requests x {args.rounds} rounds (medians)")
    print(f"{'request':<18}{'p50 us':>10}{'p99 us':>10}")
    worst = 0.0
    for name, rounds in results.items():
        p50 = statistics.median(r[0] for r in rounds)
        p99 = statistics.median(r[1] for r in rounds)
        worst = max(worst, p50)
        print(f"{name:<18}{p50:>10.1f}{p99:>10.1f}")
    print(f"target p50 < {TARGET_P50_US:.0f} us: {'met' if worst < TARGET_P50_US else 'NOT met'} ({worst:.1f} us)")


if __name__ == "__main__":
    main()
