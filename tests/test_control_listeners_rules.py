"""Listeners and rules over boto3 against the live emulator.

References: API_CreateListener, API_ModifyListener, API_CreateRule, API_SetRulePriorities,
API_RedirectActionConfig, API_ForwardActionConfig, ALB guide "Listener rules" and "Rule condition types".
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import REGION
from tests.nlb_support import elbv2_with_ip_address_type


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def alb(elbv2, subnets) -> str:
    return elbv2.create_load_balancer(Name="alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]


@pytest.fixture
def tg(elbv2, vpc_id) -> str:
    return elbv2.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]


@pytest.fixture
def listener(elbv2, alb, tg) -> str:
    return elbv2.create_listener(
        LoadBalancerArn=alb, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}]
    )["Listeners"][0]["ListenerArn"]


def _forward(tg: str) -> list[dict]:
    return [{"Type": "forward", "TargetGroupArn": tg}]


def test_forward_is_echoed_with_forward_config_weight_and_stickiness(elbv2, alb, tg, listener):
    described = elbv2.describe_listeners(LoadBalancerArn=alb)["Listeners"][0]
    assert described["ListenerArn"] == listener and described["ListenerArn"].startswith(alb.replace(":loadbalancer/", ":listener/"))
    assert described["DefaultActions"] == [{
        "Type": "forward", "TargetGroupArn": tg,
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tg, "Weight": 1}], "TargetGroupStickinessConfig": {"Enabled": False}},
    }]


def test_listener_creates_default_rule(elbv2, tg, listener):
    rules = elbv2.describe_rules(ListenerArn=listener)["Rules"]
    assert len(rules) == 1
    assert (rules[0]["Priority"], rules[0]["IsDefault"], rules[0]["Conditions"]) == ("default", True, [])
    assert rules[0]["Actions"][0]["TargetGroupArn"] == tg


def test_duplicate_port_is_duplicate_listener(elbv2, alb, tg, listener):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(
            LoadBalancerArn=alb, Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        )
    assert _error(excinfo) == ("DuplicateListener", "A listener with the specified port already exists.")


def test_https_needs_known_certificate_and_gets_default_policy(elbv2, acm, alb, tg):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(
            LoadBalancerArn=alb, Protocol="HTTPS", Port=443, DefaultActions=_forward(tg),
            Certificates=[{"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/nope"}],
        )
    assert _error(excinfo)[0] == "CertificateNotFound"
    cert = acm.request_certificate(DomainName="example.com")["CertificateArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=alb, Protocol="HTTPS", Port=443, DefaultActions=_forward(tg), Certificates=[{"CertificateArn": cert}]
    )["Listeners"][0]
    assert (listener["SslPolicy"], listener["Certificates"]) == ("ELBSecurityPolicy-2016-08", [{"CertificateArn": cert}])
    # HTTPS -> HTTP drops SslPolicy and Certificates (API_ModifyListener).
    modified = elbv2.modify_listener(ListenerArn=listener["ListenerArn"], Protocol="HTTP", Port=8080)["Listeners"][0]
    assert "SslPolicy" not in modified and "Certificates" not in modified


def test_tcp_listener_on_alb_is_unsupported_and_tcp_tg_incompatible(elbv2, alb, vpc_id):
    tcp_tg = elbv2.create_target_group(Name="tcp", Protocol="TCP", Port=80, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(LoadBalancerArn=alb, Protocol="TCP", Port=80, DefaultActions=_forward(tcp_tg))
    assert _error(excinfo)[0] == "UnsupportedProtocol"
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=80, DefaultActions=_forward(tcp_tg))
    assert _error(excinfo)[0] == "IncompatibleProtocols"


def test_target_group_serves_one_load_balancer(elbv2, subnets, tg, listener):
    other = elbv2.create_load_balancer(Name="other", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(LoadBalancerArn=other, Protocol="HTTP", Port=80, DefaultActions=_forward(tg))
    assert _error(excinfo)[0] == "TargetGroupAssociationLimit"


def test_redirect_defaults_are_placeholders(elbv2, alb):
    listener = elbv2.create_listener(
        LoadBalancerArn=alb, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
    )["Listeners"][0]
    assert listener["DefaultActions"][0]["RedirectConfig"] == {
        "Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301",
    }


def test_fixed_response_content_type_is_checked(elbv2, alb):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(
            LoadBalancerArn=alb, Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "image/png"}}],
        )
    assert _error(excinfo)[0] == "InvalidLoadBalancerAction"


def test_rule_conditions_echo_values_and_config(elbv2, tg, listener):
    rule = elbv2.create_rule(
        ListenerArn=listener, Priority=10, Actions=_forward(tg),
        Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}, {"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example.com"]}}],
    )["Rules"][0]
    assert rule["Priority"] == "10" and rule["IsDefault"] is False
    assert rule["Conditions"] == [
        {"Field": "path-pattern", "Values": ["/api/*"], "PathPatternConfig": {"Values": ["/api/*"]}},
        {"Field": "host-header", "Values": ["a.example.com"], "HostHeaderConfig": {"Values": ["a.example.com"]}},
    ]
    assert [r["Priority"] for r in elbv2.describe_rules(ListenerArn=listener)["Rules"]] == ["10", "default"]


def test_priority_in_use(elbv2, tg, listener):
    conditions = [{"Field": "path-pattern", "Values": ["/a"]}]
    elbv2.create_rule(ListenerArn=listener, Priority=1, Actions=_forward(tg), Conditions=conditions)
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(ListenerArn=listener, Priority=1, Actions=_forward(tg), Conditions=conditions)
    assert _error(excinfo) == ("PriorityInUse", "The specified priority is in use.")


def test_more_than_five_condition_values_rejected(elbv2, tg, listener):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(
            ListenerArn=listener, Priority=1, Actions=_forward(tg),
            Conditions=[
                {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/a", "/b", "/c"]}},
                {"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example.com", "b.example.com", "c.example.com"]}},
            ],
        )
    assert _error(excinfo) == ("ValidationError", "A rule can only have '5' condition values")


def test_default_rule_cannot_be_deleted_or_reprioritised(elbv2, listener):
    default = elbv2.describe_rules(ListenerArn=listener)["Rules"][0]["RuleArn"]
    for call in (
        lambda: elbv2.delete_rule(RuleArn=default),
        lambda: elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": default, "Priority": 5}]),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert _error(excinfo)[0] == "OperationNotPermitted"


def test_set_rule_priorities_and_duplicate_in_batch(elbv2, tg, listener):
    arns = [
        elbv2.create_rule(ListenerArn=listener, Priority=p, Actions=_forward(tg), Conditions=[{"Field": "path-pattern", "Values": [f"/{p}"]}])["Rules"][0]["RuleArn"]
        for p in (1, 2)
    ]
    swapped = elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": arns[0], "Priority": 2}, {"RuleArn": arns[1], "Priority": 1}])
    assert [r["Priority"] for r in swapped["Rules"]] == ["2", "1"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": arns[0], "Priority": 7}, {"RuleArn": arns[1], "Priority": 7}])
    assert _error(excinfo) == ("ValidationError", "Priority '7' was provided multiple times")


def test_modify_listener_default_actions_syncs_default_rule(elbv2, listener):
    action = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}}
    elbv2.modify_listener(ListenerArn=listener, DefaultActions=[action])
    assert elbv2.describe_rules(ListenerArn=listener)["Rules"][0]["Actions"] == [action]


def test_modify_rule_and_delete_missing_rule(elbv2, tg, listener):
    arn = elbv2.create_rule(ListenerArn=listener, Priority=3, Actions=_forward(tg), Conditions=[{"Field": "path-pattern", "Values": ["/x"]}])["Rules"][0]["RuleArn"]
    rule = elbv2.modify_rule(RuleArn=arn, Conditions=[{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}}])["Rules"][0]
    assert rule["Conditions"] == [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}}]
    elbv2.delete_rule(RuleArn=arn)
    with pytest.raises(ClientError) as excinfo:
        elbv2.delete_rule(RuleArn=arn)
    assert _error(excinfo) == ("RuleNotFound", "One or more rules not found")


def test_describe_listeners_needs_arns_or_load_balancer(elbv2):
    with pytest.raises(ClientError) as excinfo:
        elbv2.describe_listeners()
    assert _error(excinfo) == ("ValidationError", "You must specify either listener ARNs or a load balancer ARN")


def test_nlb_tcp_listener(elbv2, subnets, vpc_id):
    nlb = elbv2.create_load_balancer(Name="nlb", Type="network", Subnets=subnets[:1])["LoadBalancers"][0]["LoadBalancerArn"]
    tcp = elbv2.create_target_group(Name="tcp", Protocol="TCP", Port=5000, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]
    listener = elbv2.create_listener(LoadBalancerArn=nlb, Protocol="TCP", Port=5000, DefaultActions=_forward(tcp))["Listeners"][0]
    assert listener["Protocol"] == "TCP"
    attributes = elbv2.describe_listener_attributes(ListenerArn=listener["ListenerArn"])["Attributes"]
    assert attributes == [{"Key": "tcp.idle_timeout.seconds", "Value": "350"}]


def test_unknown_ssl_policy_is_ssl_policy_not_found(elbv2, acm, alb, tg):
    cert = acm.request_certificate(DomainName="example.com")["CertificateArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(
            LoadBalancerArn=alb, Protocol="HTTPS", Port=443, DefaultActions=_forward(tg),
            Certificates=[{"CertificateArn": cert}], SslPolicy="ELBSecurityPolicy-Bogus",
        )
    assert _error(excinfo)[0] == "SSLPolicyNotFound"


# ---- transforms (ALB guide "Transforms for listener rules", API_RuleTransform, API_ModifyRule) ----

_PATH = [{"Field": "path-pattern", "Values": ["/v1/*"]}]


def _url_rewrite(regex: str = "^/v1/(.*)$", replace: str = "/v2/$1") -> dict:
    return {"Type": "url-rewrite", "UrlRewriteConfig": {"Rewrites": [{"Regex": regex, "Replace": replace}]}}


def test_transforms_are_echoed_and_reset(elbv2, tg, listener):
    host = {"Type": "host-header-rewrite", "HostHeaderRewriteConfig": {"Rewrites": [{"Regex": "^a$", "Replace": "b"}]}}
    rule = elbv2.create_rule(
        ListenerArn=listener, Priority=1, Conditions=_PATH, Actions=_forward(tg), Transforms=[_url_rewrite(), host]
    )["Rules"][0]
    assert rule["Transforms"] == [_url_rewrite(), host]
    modified = elbv2.modify_rule(RuleArn=rule["RuleArn"], ResetTransforms=True)["Rules"][0]
    assert "Transforms" not in modified
    with pytest.raises(ClientError) as excinfo:
        elbv2.modify_rule(RuleArn=rule["RuleArn"], ResetTransforms=True, Transforms=[_url_rewrite()])
    assert _error(excinfo) == ("ValidationError", "You cannot specify both Transforms and ResetTransforms")


@pytest.mark.parametrize(
    ("transforms", "message"),
    [
        ([_url_rewrite(), _url_rewrite()], "A rule can only have one 'url-rewrite' transform"),
        ([{"Type": "url-rewrite", "UrlRewriteConfig": {"Rewrites": []}}], "A 'url-rewrite' transform must have exactly one rewrite"),
        ([{"Type": "url-rewrite"}], "A 'url-rewrite' transform must have exactly one rewrite"),
        (
            [_url_rewrite() | {"HostHeaderRewriteConfig": {"Rewrites": [{"Regex": "a", "Replace": "b"}]}}],
            "A 'HostHeaderRewriteConfig' cannot be specified with the 'url-rewrite' transform type",
        ),
        ([_url_rewrite("^/(?=x)")], "The regular expression '^/(?=x)' uses a feature that is not supported"),
        ([_url_rewrite(replace="x" * 1025)], "The rewrite replace cannot be longer than '1024' characters"),
    ],
)
def test_invalid_transforms(elbv2, tg, listener, transforms, message):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(ListenerArn=listener, Priority=1, Conditions=_PATH, Actions=_forward(tg), Transforms=transforms)
    assert _error(excinfo) == ("ValidationError", message)


def test_default_rule_takes_no_transforms(elbv2, listener):
    default = elbv2.describe_rules(ListenerArn=listener)["Rules"][0]["RuleArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.modify_rule(RuleArn=default, Transforms=[_url_rewrite()])
    assert _error(excinfo) == ("OperationNotPermitted", f"Default rule '{default}' cannot be given transforms")


# ---- jwt-validation (API_JwtValidationActionConfig) ----


@pytest.fixture
def https_listener(elbv2, alb, acm) -> str:
    certificate = acm.request_certificate(DomainName="jwt.example.com")["CertificateArn"]
    return elbv2.create_listener(
        LoadBalancerArn=alb, Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
    )["Listeners"][0]["ListenerArn"]


def _jwt(config: dict) -> list[dict]:
    return [
        {"Type": "jwt-validation", "Order": 1, "JwtValidationConfig": config},
        {"Type": "fixed-response", "Order": 2, "FixedResponseConfig": {"StatusCode": "200"}},
    ]


_JWKS = {"JwksEndpoint": "https://idp.example.com/.well-known/jwks.json", "Issuer": "https://idp.example.com"}


def test_jwt_validation_is_echoed(elbv2, https_listener):
    claims = [{"Format": "string-array", "Name": "groups", "Values": ["admins"]}]
    rule = elbv2.create_rule(
        ListenerArn=https_listener, Priority=1, Conditions=_PATH, Actions=_jwt(_JWKS | {"AdditionalClaims": claims})
    )["Rules"][0]
    assert rule["Actions"][0] == {"Type": "jwt-validation", "Order": 1, "JwtValidationConfig": _JWKS | {"AdditionalClaims": claims}}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (_JWKS | {"JwksEndpoint": "http://idp.example.com/jwks"},
         "The JWKS endpoint 'http://idp.example.com/jwks' must be a full URL that uses the HTTPS protocol"),
        (_JWKS | {"Issuer": "i" * 257}, "The issuer cannot be longer than '256' characters"),
        (_JWKS | {"AdditionalClaims": [{"Format": "single-string", "Name": "exp", "Values": ["1"]}]},
         "The claim 'exp' cannot be specified because it is validated by default"),
        (_JWKS | {"AdditionalClaims": [{"Format": "space-separated-values", "Name": "scope", "Values": ["a b"]}]},
         "The values of the claim 'scope' cannot include spaces with the 'space-separated-values' format"),
        (_JWKS | {"AdditionalClaims": [{"Format": "single-string", "Name": f"c{i}", "Values": ["v"]} for i in range(11)]},
         "A JWT validation action can have at most '10' additional claims"),
    ],
)
def test_invalid_jwt_validation(elbv2, https_listener, config, message):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(ListenerArn=https_listener, Priority=1, Conditions=_PATH, Actions=_jwt(config))
    assert _error(excinfo) == ("ValidationError", message)


def test_jwt_validation_members_are_required_by_the_model(emulator_url, https_listener):
    unchecked = boto3.client("elbv2", endpoint_url=emulator_url, region_name=REGION, config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as excinfo:
        unchecked.create_rule(ListenerArn=https_listener, Priority=1, Conditions=_PATH, Actions=_jwt({"Issuer": "x"}))
    assert _error(excinfo)[0] == "ValidationError" and "jwksEndpoint" in _error(excinfo)[1]


# ---- NLB listener rules: dual-stack NLBs only (NLB guide, "Listener rules for your Network Load Balancer") ----


def _nlb_listener(elbv2, subnets, vpc_id, ip_type: str) -> tuple[str, str]:
    lb = elbv2.create_load_balancer(Name="nlb", Type="network", Subnets=subnets[:1], IpAddressType=ip_type)
    tcp = elbv2.create_target_group(Name="tcp", Protocol="TCP", Port=80, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancers"][0]["LoadBalancerArn"], Protocol="TCP", Port=80, DefaultActions=_forward(tcp)
    )["Listeners"][0]["ListenerArn"]
    return listener, tcp


# NLB rules name the source's IP address type (API Reference, SourceIpConditionConfig), which the pinned
# botocore's model lacks: these tests' client has the emulator's model extras.
_IPV6 = [{"Field": "source-ip", "SourceIpConfig": {"IpAddressType": "ipv6"}}]


@pytest.fixture
def nlb_rules_client(emulator_url):
    return elbv2_with_ip_address_type(emulator_url, REGION)


def test_nlb_rules_need_a_dual_stack_nlb(nlb_rules_client, subnets, vpc_id):
    elbv2 = nlb_rules_client
    listener, tcp = _nlb_listener(elbv2, subnets, vpc_id, "ipv4")
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(ListenerArn=listener, Priority=1, Conditions=_IPV6, Actions=_forward(tcp))
    assert _error(excinfo) == (
        "InvalidConfigurationRequest",
        "Listener rules are supported only on Application Load Balancers and dual-stack Network Load Balancers",
    )


def test_dual_stack_nlb_rules_take_source_ip_conditions_only(nlb_rules_client, subnets, vpc_id):
    elbv2 = nlb_rules_client
    listener, tcp = _nlb_listener(elbv2, subnets, vpc_id, "dualstack")
    rule = elbv2.create_rule(ListenerArn=listener, Priority=1, Conditions=_IPV6, Actions=_forward(tcp))["Rules"][0]
    assert rule["Conditions"] == _IPV6 and rule["Priority"] == "1"
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(ListenerArn=listener, Priority=2, Conditions=_PATH, Actions=_forward(tcp))
    assert _error(excinfo) == ("ValidationError", "Network Load Balancer rules support only 'source-ip' conditions")
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_rule(ListenerArn=listener, Priority=2, Conditions=_IPV6, Actions=_forward(tcp), Transforms=[_url_rewrite()])
    assert _error(excinfo) == ("ValidationError", "Transforms are supported only on Application Load Balancer rules")
