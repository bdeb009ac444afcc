"""RegexValues in host-header, path-pattern and http-header conditions (AWS "Listener rules for your Application Load Balancer", condition types)."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from api_models.resources import Condition
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.routing.rules import compile_condition
from tests.alb_support import alb, listener, listener_url

REGEX_CONDITIONS: list[Condition] = [
    {"Field": "host-header", "HostHeaderConfig": {"RegexValues": [r"^api[0-9]+\.example\.com$"]}},
    {"Field": "path-pattern", "PathPatternConfig": {"RegexValues": [r"^/v[12]/"]}},
    {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Tier", "RegexValues": [r"^(gold|platinum)$"]}},
]


def _request(host: str, url: str, tier: str | None) -> Request:
    request = Request("127.0.0.1", 5000)
    request.host, request.url = host, url.encode()
    if tier is not None:
        request.headers.append((b"x-tier", tier.encode()))
    return request


@pytest.mark.parametrize("host, url, tier, matches", [
    ("API7.example.com:8080", "/v1/users?x=1", "gold", True),  # host regex ignores case and the port
    ("api7.example.com", "/v3/users", "gold", False),  # path regex fails
    ("api7.example.com", "/v2/", "silver", False),  # header regex fails
    ("api.example.com", "/v2/", "platinum", False),  # host regex needs a digit
    ("api7.example.com", "/v2/", None, False),  # no header at all
])
def test_regex_matchers(host, url, tier, matches):
    request = _request(host, url, tier)
    assert all(compile_condition(c)(request) for c in REGEX_CONDITIONS) is matches


def test_path_regex_is_case_sensitive_and_unanchored():
    matcher = compile_condition({"Field": "path-pattern", "PathPatternConfig": {"RegexValues": ["/img/.*\\.png"]}})
    assert matcher(_request("a.example.com", "/static/img/logo.png", None))  # found anywhere unless anchored
    assert not matcher(_request("a.example.com", "/static/IMG/logo.png", None))


def test_regex_rule_through_the_api(elbv2, subnets, emulator_url):
    lb = alb(elbv2, subnets)
    arn = listener(elbv2, lb, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])
    elbv2.create_rule(ListenerArn=arn, Priority=1, Conditions=REGEX_CONDITIONS,
                      Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    url = listener_url(emulator_url, arn)
    assert requests.get(f"{url}/v1/x", headers={"Host": "api1.example.com", "X-Tier": "gold"}, timeout=5).status_code == 200
    assert requests.get(f"{url}/v1/x", headers={"Host": "www.example.com", "X-Tier": "gold"}, timeout=5).status_code == 404


@pytest.mark.parametrize("regex", [r"^(?=admin)", r"(a)\1", r"\p{L}+", r"a++"])
def test_unsupported_regex_features_are_refused(elbv2, subnets, regex):
    """AWS: no lookarounds, backreferences, possessive quantifiers or Unicode classes (rule-condition-types)."""
    lb = alb(elbv2, subnets)
    arn = listener(elbv2, lb, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])
    with pytest.raises(ClientError) as raised:
        elbv2.create_rule(ListenerArn=arn, Priority=1,
                          Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"RegexValues": [regex]}}],
                          Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    assert raised.value.response["Error"]["Code"] == "ValidationError"


def test_values_and_regex_values_are_exclusive(elbv2, subnets):
    lb = alb(elbv2, subnets)
    arn = listener(elbv2, lb, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])
    with pytest.raises(ClientError) as raised:
        elbv2.create_rule(ListenerArn=arn, Priority=1,
                          Conditions=[{"Field": "path-pattern",
                                       "PathPatternConfig": {"Values": ["/a"], "RegexValues": ["^/b"]}}],
                          Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    assert raised.value.response["Error"]["Code"] == "ValidationError"
