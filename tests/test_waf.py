"""AWS WAF web ACLs associated with an ALB decide real traffic (AWS WAF developer guide: "How AWS WAF works",
"Rule statements", "Request components in AWS WAF", "Text transformation options", "Using rule actions in AWS
WAF", "Rate-based rule statement", "Using rule group statements", "CAPTCHA and Challenge in AWS WAF").

The module runs its own emulator (security groups off, so sources differ only for the web ACL). Clients bind to
different loopback sources (127.0.0.1, 127.0.0.2, ...) for IP rules; WAFv2 calls apply from the next request.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from emulator.server import EmulatorServer
from tests.alb_support import free_port, listener_url
from tests.backends import HttpEcho
from tests.nlb_support import wait_healthy

REGION = "us-east-1"
VISIBILITY = {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "m"}


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def seen(self, name: str) -> list[str]:
        """The values of request header ``name`` as the backend received it."""
        echoed = json.loads(self.body)
        return [value for key, value in echoed["headers"] if key.lower() == name.lower()]


class Aws:
    def __init__(self, url: str) -> None:
        self.url = url
        self.elbv2: Any = boto3.client("elbv2", endpoint_url=url, region_name=REGION)
        self.ec2: Any = boto3.client("ec2", endpoint_url=url, region_name=REGION)
        self.waf: Any = boto3.client("wafv2", endpoint_url=url, region_name=REGION)
        vpc = self.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        self.vpc = vpc
        zones: dict[str, str] = {}
        for subnet in self.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
            zones.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
        self.subnets = sorted(zones.values())[:2]

    def alb(self, name: str, backend: HttpEcho) -> tuple[str, str]:
        """(load balancer ARN, listener URL) of an ALB forwarding to ``backend``."""
        lb = self.elbv2.create_load_balancer(Name=name, Subnets=self.subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        tg = self.elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=self.vpc,
                                            TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        arn = self.elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=free_port(),
                                         DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}]
                                         )["Listeners"][0]["ListenerArn"]
        self.elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": backend.host, "Port": backend.port}])
        wait_healthy(self.elbv2, tg)
        return lb, listener_url(self.url, arn)

    def ip_set(self, name: str, *addresses: str) -> dict[str, str]:
        return dict(self.waf.create_ip_set(Name=name, Scope="REGIONAL", IPAddressVersion="IPV4",
                                           Addresses=list(addresses))["Summary"])

    def web_acl(self, name: str, rules: list[dict[str, Any]], default: str = "Allow",
                **extra: Any) -> dict[str, str]:
        return dict(self.waf.create_web_acl(Name=name, Scope="REGIONAL", DefaultAction={default: {}},
                                            Rules=rules, VisibilityConfig=VISIBILITY, **extra)["Summary"])

    def protect(self, lb: str, rules: list[dict[str, Any]], default: str = "Allow", **extra: Any) -> dict[str, str]:
        acl = self.web_acl(f"acl-{free_port()}", rules, default, **extra)
        self.waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb)
        return acl


def rule(name: str, priority: int, statement: dict[str, Any], action: str = "Block", **extra: Any) -> dict[str, Any]:
    action_spec = extra.pop("action_spec", {action: {}})
    return {"Name": name, "Priority": priority, "Statement": statement, "Action": action_spec,
            "VisibilityConfig": VISIBILITY, **extra}


def byte_match(search: str, field: dict[str, Any], where: str = "CONTAINS", *transforms: str) -> dict[str, Any]:
    return {"ByteMatchStatement": {
        "SearchString": search.encode(), "FieldToMatch": field, "PositionalConstraint": where,
        "TextTransformations": [{"Priority": i, "Type": t} for i, t in enumerate(transforms or ("NONE",))]}}


def header_field(name: str) -> dict[str, Any]:
    return {"SingleHeader": {"Name": name}}


def request(url: str, path: str = "/", source: str = "127.0.0.1", method: str = "GET",
            headers: dict[str, str] | None = None) -> Reply:
    host, _, port = url.split("://")[1].rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5, source_address=(source, 0))
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(port=0, enforce_security_groups=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def backend() -> Iterator[HttpEcho]:
    with HttpEcho() as echo:
        yield echo


@pytest.fixture
def aws(server: EmulatorServer) -> Aws:
    import requests

    requests.post(f"{server.url}/moto-api/reset", timeout=10).raise_for_status()
    return Aws(server.url)


def test_ip_set_rule_blocks_its_sources_and_wafv2_updates_apply_to_the_next_request(aws: Aws,
                                                                                  backend: HttpEcho) -> None:
    """"IP set match rule statement"; AssociateWebACL / UpdateIPSet / DisassociateWebACL answer once applied."""
    lb, url = aws.alb("waf-ip", backend)
    assert request(url, source="127.0.0.2").status == 200  # no web ACL yet
    ip_set = aws.ip_set("blocked", "127.0.0.2/32")
    aws.protect(lb, [rule("ip", 0, {"IPSetReferenceStatement": {"ARN": ip_set["ARN"]}})])
    assert request(url, source="127.0.0.1").status == 200
    blocked = request(url, source="127.0.0.2")
    assert blocked.status == 403 and blocked.headers["server"] == "awselb/2.0" and b"403 Forbidden" in blocked.body
    token = aws.waf.get_ip_set(Name="blocked", Scope="REGIONAL", Id=ip_set["Id"])["LockToken"]
    aws.waf.update_ip_set(Name="blocked", Scope="REGIONAL", Id=ip_set["Id"], Addresses=["127.0.0.0/30"],
                          LockToken=token)
    assert request(url, source="127.0.0.1").status == 403
    assert request(url, source="127.0.0.5").status == 200
    aws.waf.disassociate_web_acl(ResourceArn=lb)
    assert request(url, source="127.0.0.1").status == 200


def test_ip_set_forwarded_ip_config_positions_and_fallback(aws: Aws, backend: HttpEcho) -> None:
    """IPSetForwardedIPConfig: the header's FIRST / LAST address; FallbackBehavior for a missing header."""
    lb, url = aws.alb("waf-fwd", backend)
    ip_set = aws.ip_set("proxied", "10.1.0.0/16")
    aws.protect(lb, [
        rule("first", 0, {"IPSetReferenceStatement": {"ARN": ip_set["ARN"], "IPSetForwardedIPConfig": {
            "HeaderName": "X-Client-IP", "FallbackBehavior": "MATCH", "Position": "FIRST"}}}),
        rule("last", 1, {"IPSetReferenceStatement": {"ARN": ip_set["ARN"], "IPSetForwardedIPConfig": {
            "HeaderName": "X-Proxy-Chain", "FallbackBehavior": "NO_MATCH", "Position": "LAST"}}}),
    ])
    assert request(url).status == 403  # no X-Client-IP: FallbackBehavior MATCH
    assert request(url, headers={"X-Client-IP": "not-an-ip"}).status == 403
    assert request(url, headers={"X-Client-IP": "192.0.2.1, 10.1.2.3"}).status == 200  # FIRST is outside
    assert request(url, headers={"X-Client-IP": "10.1.2.3"}).status == 403
    ok = {"X-Client-IP": "192.0.2.1"}
    assert request(url, headers={**ok, "X-Proxy-Chain": "10.1.9.9, 192.0.2.7"}).status == 200
    assert request(url, headers={**ok, "X-Proxy-Chain": "192.0.2.7, 10.1.9.9"}).status == 403


def test_byte_match_positional_constraints_after_text_transformations(aws: Aws, backend: HttpEcho) -> None:
    """"String match rule statement" (EXACTLY, STARTS_WITH, ENDS_WITH, CONTAINS, CONTAINS_WORD) and "Text
    transformation options" applied in priority order."""
    lb, url = aws.alb("waf-bytes", backend)
    aws.protect(lb, [
        rule("admin", 0, byte_match("/admin", {"UriPath": {}}, "STARTS_WITH",
                                    "URL_DECODE", "LOWERCASE", "NORMALIZE_PATH")),
        rule("delete", 1, byte_match("DELETE", {"Method": {}}, "EXACTLY")),
        rule("bots", 2, byte_match("bot", header_field("user-agent"), "ENDS_WITH", "LOWERCASE", "TRIM")),
        rule("drop", 3, byte_match("drop", {"QueryString": {}}, "CONTAINS_WORD", "URL_DECODE")),
        rule("b64", 4, byte_match("secret", header_field("x-payload"), "CONTAINS", "BASE64_DECODE")),
        rule("spaces", 5, byte_match("a b", header_field("x-spaced"), "EXACTLY", "COMPRESS_WHITE_SPACE")),
    ])
    assert request(url, "/public/x").status == 200
    assert request(url, "/x/../%41DMIN//panel").status == 403
    assert request(url, "/adm").status == 200
    assert request(url, method="DELETE").status == 403
    assert request(url, method="PUT").status == 200
    assert request(url, headers={"User-Agent": "GoodBOT  "}).status == 403
    assert request(url, headers={"User-Agent": "bottle"}).status == 200
    assert request(url, "/?q=drop+table").status == 403
    assert request(url, "/?q=dropped").status == 200
    assert request(url, headers={"X-Payload": "dG9wIHNlY3JldCE="}).status == 403  # "top secret!"
    assert request(url, headers={"X-Payload": "secret"}).status == 200  # decoded, it is not
    assert request(url, headers={"X-Spaced": "a \t  b"}).status == 403


def test_regex_regex_pattern_set_and_size_constraint(aws: Aws, backend: HttpEcho) -> None:
    """"Regex match rule statement", "Regex pattern set match rule statement", "Size constraint rule statement";
    UpdateRegexPatternSet applies to the next request."""
    lb, url = aws.alb("waf-regex", backend)
    patterns = aws.waf.create_regex_pattern_set(Name="ids", Scope="REGIONAL",
                                                RegularExpressionList=[{"RegexString": "^[0-9]+;"}])["Summary"]
    none = [{"Priority": 0, "Type": "NONE"}]
    aws.protect(lb, [
        rule("regex", 0, {"RegexMatchStatement": {"RegexString": r"(?i)<script", "FieldToMatch": {"QueryString": {}},
                                                  "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}]}}),
        rule("set", 1, {"RegexPatternSetReferenceStatement": {
            "ARN": patterns["ARN"], "FieldToMatch": {"SingleQueryArgument": {"Name": "ID"}},
            "TextTransformations": none}}),
        rule("size", 2, {"SizeConstraintStatement": {"FieldToMatch": header_field("x-token"),
                                                     "ComparisonOperator": "GT", "Size": 8,
                                                     "TextTransformations": none}}),
    ])
    assert request(url, "/?x=%3CScRiPt%3E").status == 403
    assert request(url, "/?id=12;drop").status == 403
    assert request(url, "/?id=ab;drop&other=12;").status == 200  # only the id argument is inspected
    assert request(url, headers={"X-Token": "12345678"}).status == 200
    assert request(url, headers={"X-Token": "123456789"}).status == 403
    token = aws.waf.get_regex_pattern_set(Name="ids", Scope="REGIONAL", Id=patterns["Id"])["LockToken"]
    aws.waf.update_regex_pattern_set(Name="ids", Scope="REGIONAL", Id=patterns["Id"], LockToken=token,
                                     RegularExpressionList=[{"RegexString": "^ab"}])
    assert request(url, "/?id=ab;drop").status == 403
    assert request(url, "/?id=12;drop").status == 200


def test_count_labels_logic_statements_custom_responses_and_inserted_headers(aws: Aws, backend: HttpEcho) -> None:
    """Count + RuleLabels, LabelMatch, And / Or / Not, Block's CustomResponse with CustomResponseBodies, Allow's
    InsertHeaders (x-amzn-waf-<name> on the upstream request), and a Block default action."""
    lb, url = aws.alb("waf-logic", backend)
    suspicious = {"SizeConstraintStatement": {"FieldToMatch": header_field("x-suspicious"), "ComparisonOperator": "GE",
                                              "Size": 0, "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
    public = byte_match("/public", {"UriPath": {}}, "STARTS_WITH")
    teapot = {"Block": {"CustomResponse": {"ResponseCode": 418, "CustomResponseBodyKey": "nope",
                                           "ResponseHeaders": [{"Name": "x-why", "Value": "label"}]}}}
    allow = {"Allow": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "checked", "Value": "yes"}]}}}
    aws.protect(lb, [
        rule("tag", 0, suspicious, "Count", RuleLabels=[{"Name": "tier:suspicious"}]),
        rule("deny", 1, {"AndStatement": {"Statements": [
            {"LabelMatchStatement": {"Scope": "LABEL", "Key": "tier:suspicious"}},
            {"NotStatement": {"Statement": public}}]}}, action_spec=teapot),
        rule("open", 2, {"OrStatement": {"Statements": [public, byte_match("/health", {"UriPath": {}}, "EXACTLY")]}},
             action_spec=allow),
    ], default="Block", CustomResponseBodies={"nope": {"ContentType": "APPLICATION_JSON", "Content": '{"no":1}'}})
    refused = request(url, "/public/a", headers={"X-Suspicious": "1", "X-Amzn-Waf-Checked": "forged"})
    assert refused.status == 200 and refused.seen("x-amzn-waf-checked") == ["yes"]  # Count went on to "open"
    teapot_reply = request(url, "/private", headers={"X-Suspicious": "1"})
    assert teapot_reply.status == 418 and teapot_reply.body == b'{"no":1}'
    assert teapot_reply.headers["x-why"] == "label" and teapot_reply.headers["content-type"] == "application/json"
    assert request(url, "/health").status == 200
    assert request(url, "/private").status == 403  # the default action


def test_headers_cookies_and_header_order_fields(aws: Aws, backend: HttpEcho) -> None:
    """FieldToMatch Headers (MatchPattern / MatchScope), Cookies, HeaderOrder."""
    lb, url = aws.alb("waf-fields", backend)
    aws.protect(lb, [
        rule("keys", 0, byte_match("x-debug", {"Headers": {"MatchPattern": {"All": {}}, "MatchScope": "KEY",
                                                           "OversizeHandling": "CONTINUE"}}, "EXACTLY", "LOWERCASE")),
        rule("values", 1, byte_match("evil", {"Headers": {"MatchPattern": {"ExcludedHeaders": ["x-safe"]},
                                                          "MatchScope": "VALUE", "OversizeHandling": "CONTINUE"}})),
        rule("cookie", 2, byte_match("admin", {"Cookies": {"MatchPattern": {"IncludedCookies": ["role"]},
                                                           "MatchScope": "VALUE", "OversizeHandling": "CONTINUE"}},
                                     "EXACTLY")),
        rule("order", 3, byte_match("x-first:host", {"HeaderOrder": {"OversizeHandling": "CONTINUE"}},
                                    "STARTS_WITH")),
    ])
    assert request(url, headers={"X-Debug": "1"}).status == 403
    assert request(url, headers={"X-Other": "evil"}).status == 403
    assert request(url, headers={"X-Safe": "evil"}).status == 200
    assert request(url, headers={"Cookie": "a=admin; role=admin"}).status == 403
    assert request(url, headers={"Cookie": "a=admin; role=user"}).status == 200
    # http.client sends Host first, then the given headers; a raw request decides the order here.
    host, _, port = url.split("://")[1].rpartition(":")
    for head, expected in ((b"GET / HTTP/1.1\r\nX-First: 1\r\nHost: h\r\n\r\n", b" 403 "),
                           (b"GET / HTTP/1.1\r\nHost: h\r\nX-First: 1\r\n\r\n", b" 200 ")):
        import socket
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(head)
            assert expected in sock.recv(65536).split(b"\r\n", 1)[0] + b" "


def test_rate_based_rules_by_ip_and_by_custom_header_key(aws: Aws, backend: HttpEcho) -> None:
    """"Rate-based rule statement": over Limit requests per key in the window are blocked (the window is 600 s
    on AWS's clock, 6 s with the suite's fast timing: the requests below fall well inside it)."""
    lb, url = aws.alb("waf-rate", backend)
    api = byte_match("/api", {"UriPath": {}}, "STARTS_WITH")
    aws.protect(lb, [
        rule("per-ip", 0, {"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 600, "AggregateKeyType": "IP",
                                                  "ScopeDownStatement": api}}),
        rule("per-tenant", 1, {"RateBasedStatement": {
            "Limit": 10, "EvaluationWindowSec": 600, "AggregateKeyType": "CUSTOM_KEYS",
            "CustomKeys": [{"Header": {"Name": "x-tenant", "TextTransformations": [{"Priority": 0,
                                                                                     "Type": "LOWERCASE"}]}}]}}),
    ])
    assert [request(url, "/api/x", source="127.0.0.7").status for _ in range(12)] == [200] * 10 + [403, 403]
    assert request(url, "/api/x", source="127.0.0.8").status == 200  # another source: its own count
    assert request(url, "/other", source="127.0.0.7").status == 200  # outside the scope-down statement
    tenant = [request(url, "/t", source=f"127.0.1.{i}", headers={"X-Tenant": ("A", "a")[i % 2]}).status
              for i in range(12)]
    assert tenant == [200] * 10 + [403, 403]
    assert request(url, "/t", headers={"X-Tenant": "b"}).status == 200
    assert all(request(url, "/t").status == 200 for _ in range(12))  # no key: not counted


def test_rule_group_reference_with_overrides_and_override_action(aws: Aws, backend: HttpEcho) -> None:
    """"Using rule group statements": the group's rules, ExcludedRules as Count, RuleActionOverrides, the
    group's labels, OverrideAction Count; UpdateRuleGroup applies to the next request."""
    lb, url = aws.alb("waf-group", backend)
    group_rules = [
        rule("g-block", 0, byte_match("/blocked", {"UriPath": {}}, "STARTS_WITH")),
        rule("g-excluded", 1, byte_match("/excluded", {"UriPath": {}}, "STARTS_WITH"),
             RuleLabels=[{"Name": "excluded"}]),
        rule("g-overridden", 2, byte_match("/overridden", {"UriPath": {}}, "STARTS_WITH")),
    ]
    group = aws.waf.create_rule_group(Name="grp", Scope="REGIONAL", Capacity=50, Rules=group_rules,
                                      VisibilityConfig=VISIBILITY)["Summary"]
    account = group["ARN"].split(":")[4]
    reference = {"RuleGroupReferenceStatement": {
        "ARN": group["ARN"], "ExcludedRules": [{"Name": "g-excluded"}],
        "RuleActionOverrides": [{"Name": "g-overridden", "ActionToUse": {"Captcha": {}}}]}}
    aws.protect(lb, [
        {"Name": "group", "Priority": 0, "Statement": reference, "OverrideAction": {"None": {}},
         "VisibilityConfig": VISIBILITY},
        rule("after-excluded", 1, {"LabelMatchStatement": {
            "Scope": "LABEL", "Key": f"awswaf:{account}:rulegroup:grp:excluded"}},
            action_spec={"Block": {"CustomResponse": {"ResponseCode": 429}}}),
    ])
    assert request(url, "/blocked").status == 403
    assert request(url, "/excluded").status == 429  # counted in the group, labelled, blocked by the next rule
    assert request(url, "/overridden").status == 405  # Captcha instead of Block
    assert request(url, "/fine").status == 200
    token = aws.waf.get_rule_group(Name="grp", Scope="REGIONAL", Id=group["Id"])["LockToken"]
    aws.waf.update_rule_group(Name="grp", Scope="REGIONAL", Id=group["Id"], LockToken=token,
                              Rules=group_rules[1:], VisibilityConfig=VISIBILITY)
    assert request(url, "/blocked").status == 200


def test_override_action_count_turns_a_group_block_into_a_count(aws: Aws, backend: HttpEcho) -> None:
    lb, url = aws.alb("waf-group-count", backend)
    group = aws.waf.create_rule_group(Name="counted", Scope="REGIONAL", Capacity=10, VisibilityConfig=VISIBILITY,
                                      Rules=[rule("all", 0, byte_match("/", {"UriPath": {}}, "STARTS_WITH"))]
                                      )["Summary"]
    aws.protect(lb, [{"Name": "group", "Priority": 0, "OverrideAction": {"Count": {}}, "VisibilityConfig": VISIBILITY,
                      "Statement": {"RuleGroupReferenceStatement": {"ARN": group["ARN"]}}}])
    assert request(url, "/anything").status == 200


def test_captcha_and_challenge_answer_with_aws_status_codes_until_a_token_is_sent(aws: Aws,
                                                                                 backend: HttpEcho) -> None:
    """"CAPTCHA and Challenge in AWS WAF": 405 and 202 with x-amzn-waf-action; with an aws-waf-token cookie the
    action counts and the request goes on (the emulator accepts any token)."""
    lb, url = aws.alb("waf-captcha", backend)
    aws.protect(lb, [rule("login", 0, byte_match("/login", {"UriPath": {}}, "EXACTLY"), "Captcha"),
                     rule("api", 1, byte_match("/api", {"UriPath": {}}, "EXACTLY"), "Challenge")])
    captcha = request(url, "/login")
    assert captcha.status == 405 and captcha.headers["x-amzn-waf-action"] == "captcha"
    challenge = request(url, "/api")
    assert challenge.status == 202 and challenge.headers["x-amzn-waf-action"] == "challenge"
    assert request(url, "/login", headers={"Cookie": "aws-waf-token=solved"}).status == 200


def test_geo_match_uses_the_emulator_country_header(aws: Aws, backend: HttpEcho) -> None:
    """GeoMatch: loopback sources have no country; the x-elbv2-emulator-country header gives one."""
    lb, url = aws.alb("waf-geo", backend)
    aws.protect(lb, [rule("geo", 0, {"GeoMatchStatement": {"CountryCodes": ["KP", "IR"]}})])
    assert request(url).status == 200
    assert request(url, headers={"X-Elbv2-Emulator-Country": "kp"}).status == 403
    assert request(url, headers={"X-Elbv2-Emulator-Country": "DE"}).status == 200


def test_unsupported_statements_fail_closed_and_managed_groups_match_nothing(aws: Aws, backend: HttpEcho,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    """Managed rule groups are not emulated: they match nothing, and a warning says so; what cannot be
    evaluated (SQLi detection, an invalid regex) blocks every request with one error line naming it."""
    caplog.set_level(logging.WARNING, logger="elbv2_emulator.waf")
    lb, url = aws.alb("waf-unsupported", backend)
    acl = aws.protect(lb, [{"Name": "managed", "Priority": 0, "OverrideAction": {"None": {}},
                            "VisibilityConfig": VISIBILITY, "Statement": {"ManagedRuleGroupStatement": {
                                "VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}}}])
    assert request(url).status == 200
    assert any("AWSManagedRulesCommonRuleSet is not emulated" in r.getMessage() for r in caplog.records)
    token = aws.waf.get_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"])["LockToken"]
    aws.waf.update_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"], LockToken=token,
                           DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY, Rules=[rule(
                               "sqli", 0, {"SqliMatchStatement": {"FieldToMatch": {"QueryString": {}},
                                                                  "TextTransformations": [{"Priority": 0,
                                                                                           "Type": "NONE"}]}})])
    assert request(url).status == 403  # fails closed: SQLi detection is not emulated
    assert any("blocks every request: SqliMatchStatement" in r.getMessage() for r in caplog.records)
    token = aws.waf.get_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"])["LockToken"]
    aws.waf.update_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"], LockToken=token,
                           DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY, Rules=[rule(
                               "broken", 0, {"RegexMatchStatement": {"RegexString": "(unclosed",
                                                                     "FieldToMatch": {"UriPath": {}},
                                                                     "TextTransformations": [{"Priority": 0,
                                                                                              "Type": "NONE"}]}})])
    assert request(url).status == 403  # an invalid regex: the listener runs on, the web ACL blocks
    token = aws.waf.get_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"])["LockToken"]
    aws.waf.update_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"], LockToken=token,
                           DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY, Rules=[rule(
                               "fine", 0, byte_match("/never", {"UriPath": {}}, "EXACTLY"))])
    assert request(url).status == 200  # a good definition again


def test_waf_fail_open_lets_requests_through_an_acl_that_cannot_be_evaluated(aws: Aws, backend: HttpEcho) -> None:
    """waf.fail_open.enabled (ModifyLoadBalancerAttributes, "allow a WAF-enabled load balancer to route requests
    to targets if it is unable to forward the request to AWS WAF"): the ACL the emulator cannot evaluate lets
    requests through instead of blocking them, and turning the attribute off blocks again."""
    lb, url = aws.alb("waf-fail-open", backend)
    aws.protect(lb, [rule("sqli", 0, {"SqliMatchStatement": {"FieldToMatch": {"QueryString": {}},
                                                             "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}})])
    assert request(url).status == 403
    aws.elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
        {"Key": "waf.fail_open.enabled", "Value": "true"}])
    assert request(url).status == 200
    aws.elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
        {"Key": "waf.fail_open.enabled", "Value": "false"}])
    assert request(url).status == 403


def test_logging_configuration_writes_waf_log_records(aws: Aws, backend: HttpEcho,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """"Logging AWS WAF protection pack (web ACL) traffic": one JSON record per request once configured."""
    lb, url = aws.alb("waf-log", backend)
    acl = aws.protect(lb, [rule("deny", 0, byte_match("/deny", {"UriPath": {}}, "EXACTLY"))])
    caplog.set_level(logging.INFO, logger="elbv2_emulator.waf")
    request(url, "/deny")
    assert not [r for r in caplog.records if r.name == "elbv2_emulator.waf" and '"webaclId"' in r.getMessage()]
    aws.waf.put_logging_configuration(LoggingConfiguration={
        "ResourceArn": acl["ARN"],
        "LogDestinationConfigs": [f"arn:aws:firehose:{REGION}:123456789012:deliverystream/aws-waf-logs-x"]})
    request(url, "/deny", source="127.0.0.9")
    records = [json.loads(r.getMessage()) for r in caplog.records
               if r.name == "elbv2_emulator.waf" and r.getMessage().startswith("{")]
    assert records and records[-1]["action"] == "BLOCK" and records[-1]["terminatingRuleId"] == "deny"
    assert records[-1]["httpRequest"]["clientIp"] == "127.0.0.9" and records[-1]["webaclId"] == acl["ARN"]


def post(url: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> Reply:
    host, _, port = url.split("://")[1].rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("POST", path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def test_body_and_json_body_with_the_8_kb_inspection_limit(aws: Aws, backend: HttpEcho) -> None:
    """Body / JsonBody ("Request components in AWS WAF": body inspection limit 8 KB for ALBs, OversizeHandling
    CONTINUE / MATCH, JsonBody MatchPattern IncludedPaths, MatchScope VALUE)."""
    lb, url = aws.alb("waf-body", backend)
    strict = byte_match("/strict", {"UriPath": {}}, "STARTS_WITH")
    aws.protect(lb, [
        rule("attack", 0, byte_match("attack", {"Body": {"OversizeHandling": "CONTINUE"}})),
        rule("oversize", 1, {"AndStatement": {"Statements": [strict, byte_match(
            "never", {"Body": {"OversizeHandling": "MATCH"}})]}}),
        rule("role", 2, byte_match("admin", {"JsonBody": {"MatchPattern": {"IncludedPaths": ["/user/role"]},
                                                          "MatchScope": "VALUE", "InvalidFallbackBehavior": "NO_MATCH",
                                                          "OversizeHandling": "CONTINUE"}}, "EXACTLY")),
    ])
    assert post(url, "/", b"an attack here").status == 403
    allowed = post(url, "/", b"harmless")
    assert allowed.status == 200 and json.loads(allowed.body)["body_length"] == 8  # forwarded whole
    late = b"x" * 9000 + b"attack"
    beyond = post(url, "/", late)
    assert beyond.status == 200 and json.loads(beyond.body)["body_length"] == len(late)  # only 8 KB inspected
    assert post(url, "/strict", late).status == 403  # oversize: MATCH
    assert post(url, "/strict", b"small").status == 200
    assert post(url, "/", json.dumps({"user": {"role": "admin"}}).encode()).status == 403
    assert post(url, "/", json.dumps({"role": "admin", "user": {"name": "admin"}}).encode()).status == 200
    assert post(url, "/", b"{not json admin").status == 200  # InvalidFallbackBehavior NO_MATCH


def test_the_web_acl_runs_before_the_listeners_rules_and_after_request_validation(aws: Aws,
                                                                                  backend: HttpEcho) -> None:
    """"How AWS WAF works with Application Load Balancers": a fixed-response listener rule answers only what the
    web ACL allows; TRACE is refused by request validation first (405, not the web ACL's block)."""
    lb, url = aws.alb("waf-order", backend)
    listener = aws.elbv2.describe_listeners(LoadBalancerArn=lb)["Listeners"][0]["ListenerArn"]
    aws.elbv2.create_rule(ListenerArn=listener, Priority=1, Conditions=[
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/fixed*"]}}], Actions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "MessageBody": "fixed"}}])
    aws.protect(lb, [rule("deny", 0, byte_match("/fixed/secret", {"UriPath": {}}, "STARTS_WITH")),
                     rule("all", 1, byte_match("TRACE", {"Method": {}}, "EXACTLY"))])
    assert request(url, "/fixed/open").body == b"fixed"
    assert request(url, "/fixed/secret").status == 403
    assert request(url, method="TRACE").status == 405


TRANSFORMATIONS: list[tuple[str, list[str], bytes]] = [  # (raw query value, transformations, expected text)
    ("raw", ["NONE"], b"raw"),
    ("AbC", ["LOWERCASE"], b"abc"),
    ("a%20b", ["URL_DECODE"], b"a b"),
    ("%u0041%uFF21", ["URL_DECODE_UNI"], b"AA"),
    ("%26lt%3Bx", ["URL_DECODE", "HTML_ENTITY_DECODE"], b"<x"),
    ("a%09%09%20b", ["URL_DECODE", "COMPRESS_WHITE_SPACE"], b"a b"),
    ("C%5Ei%27s", ["URL_DECODE", "CMD_LINE"], b"cis"),
    ("aGVsbG8=", ["BASE64_DECODE"], b"hello"),
    ("68656c6c6f", ["HEX_DECODE"], b"hello"),
    ("a%00b", ["URL_DECODE", "REMOVE_NULLS"], b"ab"),
    ("/a/./b/../c", ["NORMALIZE_PATH"], b"/a/c"),
    ("%5Ca%5C..%5Cb", ["URL_DECODE", "NORMALIZE_PATH_WIN"], b"/b"),
    ("%C3%A9", ["URL_DECODE", "UTF8_TO_UNICODE"], b"%u00e9"),
    ("abc", ["MD5"], bytes.fromhex("900150983cd24fb0d6963f7d28e17f72")),
    ("0x414243", ["SQL_HEX_DECODE"], b"ABC"),
    ("%5Cx41%5Cu0042", ["URL_DECODE", "JS_DECODE"], b"AB"),
    ("%5C41%20B", ["URL_DECODE", "CSS_DECODE"], b"AB"),
    ("%5Cn%5Cx41", ["URL_DECODE", "ESCAPE_SEQ_DECODE"], b"\nA"),
    ("%20%20x%20", ["URL_DECODE", "TRIM"], b"x"),
]


def test_each_text_transformation_produces_what_aws_documents(aws: Aws, backend: HttpEcho) -> None:
    """"Text transformation options": one rule per transformation matches its expected output EXACTLY."""
    lb, url = aws.alb("waf-transforms", backend)
    rules = [rule(f"t{i}", i, {"ByteMatchStatement": {
        "SearchString": expected, "FieldToMatch": {"SingleQueryArgument": {"Name": f"t{i}"}},
        "PositionalConstraint": "EXACTLY",
        "TextTransformations": [{"Priority": p, "Type": t} for p, t in enumerate(transforms)]}})
        for i, (_, transforms, expected) in enumerate(TRANSFORMATIONS)]
    aws.protect(lb, rules)
    missed = [transforms for i, (raw, transforms, _) in enumerate(TRANSFORMATIONS)
              if request(url, f"/?t{i}={raw}").status != 403]
    assert missed == []
    assert request(url, "/?t1=XYZ&t2=a%21b").status == 200  # inputs whose outputs differ match nothing


def test_http2_requests_and_bodies_are_decided_by_the_web_acl(aws: Aws, backend: HttpEcho) -> None:
    """The same chain stage decides HTTP/2 streams (an HTTPS listener, ALPN h2), bodies included."""
    import httpx
    import trustme

    from tests.alb_support import address, listener
    from tests.alb_tls_support import import_certificate
    from tests.h2_support import HOST, client_context

    lb, _ = aws.alb("waf-h2", backend)
    tg = aws.elbv2.describe_target_groups(LoadBalancerArn=lb)["TargetGroups"][0]["TargetGroupArn"]
    ca = trustme.CA()
    certificate = import_certificate(boto3.client("acm", endpoint_url=aws.url, region_name=REGION), ca, HOST)
    arn = listener(aws.elbv2, lb, [{"Type": "forward", "TargetGroupArn": tg}], protocol="HTTPS",
                   Certificates=[{"CertificateArn": certificate}])
    host, port = address(listener_url(aws.url, arn))
    aws.protect(lb, [rule("path", 0, byte_match("/blocked", {"UriPath": {}}, "STARTS_WITH")),
                     rule("body", 1, byte_match("attack", {"Body": {"OversizeHandling": "CONTINUE"}}))])
    with httpx.Client(http2=True, verify=client_context(ca), base_url=f"https://{host}:{port}",
                      headers={"Host": HOST}, timeout=10) as client:
        allowed = client.get("/open")
        assert allowed.http_version == "HTTP/2" and allowed.status_code == 200
        assert client.get("/blocked/x").status_code == 403
        assert client.post("/upload", content=b"an attack").status_code == 403
        passed = client.post("/upload", content=b"fine" * 100)
        assert passed.status_code == 200 and passed.json()["body_length"] == 400
