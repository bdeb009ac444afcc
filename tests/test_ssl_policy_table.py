"""The predefined security policy table against its sources, through DescribeSSLPolicies and CreateListener as a
user calls them, and the TLS context the data plane builds from each policy.

Sources (api_models/ssl_policies.py): AWS's "Security policies for your Application/Network Load Balancer"
pages, the 2023 ALB guide (2015-05 "identical to" 2016-08; TLS-1-0-2015-04), botocore's examples, s2n-tls."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import botocore
import pytest
import trustme
from botocore.exceptions import ClientError

from api_models.ssl_policies import SSL_POLICIES
from emulator.dataplane.tls.policy import PQ_GROUPS, TLS13_SUITES_SETTABLE, apply_ssl_policy, local_gaps
from tests import alb_support, nlb_support
from tests.alb_tls_support import import_certificate

P = "ELBSecurityPolicy-"
# The names on AWS's two pages today (TLS, FIPS with RFC 9151, FS) plus the two legacy ones the brief and
# botocore's examples name; 46 in all.
PAGE_NAMES = {
    *(f"{P}TLS13-{v}-2021-06" for v in ("1-3", "1-2", "1-2-Res", "1-2-Ext2", "1-2-Ext1", "1-1", "1-0")),
    *(f"{P}TLS13-{v}-PQ-2025-09" for v in ("1-3", "1-2", "1-2-Res", "1-2-Ext2", "1-2-Ext1", "1-0")),
    f"{P}TLS-1-2-Ext-2018-06", f"{P}TLS-1-2-2017-01", f"{P}TLS-1-1-2017-01", f"{P}2016-08",
    *(f"{P}TLS13-{v}-FIPS-2023-04" for v in ("1-3", "1-2", "1-2-Res", "1-2-Ext2", "1-2-Ext1", "1-2-Ext0", "1-1", "1-0")),
    *(f"{P}TLS13-{v}-FIPS-PQ-2025-09" for v in ("1-3", "1-2", "1-2-Res", "1-2-Ext2", "1-2-Ext1", "1-2-Ext0", "1-0")),
    f"{P}TLS13-1-3-RFC9151-FIPS-2023-07", f"{P}TLS13-1-2-RFC9151-FIPS-2023-07", f"{P}TLS13-1-2-Ext0-RFC9151-FIPS-2023-07",
    *(f"{P}TLS13-1-2-RFC9151-INTEROP{n}-FIPS-2023-07" for n in range(1, 5)),
    f"{P}FS-1-2-Res-2020-10", f"{P}FS-1-2-Res-2019-08", f"{P}FS-1-2-2019-08", f"{P}FS-1-1-2019-08", f"{P}FS-2018-06",
    f"{P}2015-05", f"{P}TLS-1-0-2015-04",
}
LEGACY_12 = ("TLSv1", "TLSv1.1", "TLSv1.2")


def _described(elbv2, **filters) -> dict[str, dict]:
    pages = elbv2.get_paginator("describe_ssl_policies").paginate(**filters)
    return {p["Name"]: p for page in pages for p in page["SslPolicies"]}


def test_describe_lists_every_policy_aws_lists_with_contiguous_priorities(elbv2) -> None:
    policies = _described(elbv2)
    assert set(policies) == PAGE_NAMES and len(policies) == 46
    for policy in policies.values():
        assert [c["Priority"] for c in policy["Ciphers"]] == list(range(1, len(policy["Ciphers"]) + 1))
        assert policy["SupportedLoadBalancerTypes"] == ["application", "network"]


def test_load_balancer_type_filter(elbv2) -> None:
    assert set(_described(elbv2, LoadBalancerType="application")) == PAGE_NAMES
    assert set(_described(elbv2, LoadBalancerType="network")) == PAGE_NAMES
    assert _described(elbv2, LoadBalancerType="gateway") == {}
    fips = elbv2.describe_ssl_policies(Names=[f"{P}TLS13-1-3-FIPS-2023-04"], LoadBalancerType="network")["SslPolicies"]
    assert [p["Name"] for p in fips] == [f"{P}TLS13-1-3-FIPS-2023-04"]


def test_2015_05_is_botocores_example_without_the_dhe_cipher_aws_has_since_removed(elbv2) -> None:
    """botocore's DescribeSSLPolicies example (2016) still lists DHE-RSA-AES128-SHA; the guide since says 2015-05
    is identical to 2016-08. Everything else, order included, is the example's."""
    examples = Path(botocore.__file__).parent / "data" / "elbv2" / "2015-12-01" / "examples-1.json"
    example = json.loads(examples.read_text())["examples"]["DescribeSSLPolicies"][0]["output"]["SslPolicies"][0]
    described = elbv2.describe_ssl_policies(Names=[f"{P}2015-05"])["SslPolicies"][0]
    assert described["SslProtocols"] == example["SslProtocols"] == list(LEGACY_12)
    assert [c["Name"] for c in described["Ciphers"]] == [c["Name"] for c in example["Ciphers"] if not c["Name"].startswith("DHE-")]
    default = elbv2.describe_ssl_policies(Names=[f"{P}2016-08"])["SslPolicies"][0]
    assert described["Ciphers"] == default["Ciphers"]
    legacy = elbv2.describe_ssl_policies(Names=[f"{P}TLS-1-0-2015-04"])["SslPolicies"][0]
    assert legacy["Ciphers"] == default["Ciphers"] + [{"Name": "DES-CBC3-SHA", "Priority": 19}]


def test_fips_rfc9151_and_pq_lists() -> None:
    """FIPS policies leave out ChaCha20; RFC 9151 (CNSA 1.0) ones are AES-256 only unless INTEROP; a PQ policy
    lists exactly what its 2021-06/2023-04 namesake lists."""
    for name, policy in SSL_POLICIES.items():
        if policy.fips:
            assert not any("CHACHA20" in c for c in policy.ciphers), name
        if "RFC9151" in name and "INTEROP" not in name:
            assert all("256" in c for c in policy.ciphers), name
        if policy.post_quantum:
            twin = SSL_POLICIES[name.replace("PQ-2025-09", "2023-04" if policy.fips else "2021-06")]
            assert (policy.protocols, policy.ciphers) == (twin.protocols, twin.ciphers), name
    assert SSL_POLICIES[f"{P}TLS13-1-2-RFC9151-INTEROP4-FIPS-2023-07"].ciphers[:4] == (
        "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    )


@pytest.mark.parametrize("name", list(SSL_POLICIES))
def test_every_policy_builds_a_context_offering_exactly_its_list(name: str) -> None:
    """Versions, TLS 1.2 ciphers and TLS 1.3 suites in the policy's order, less only what this OpenSSL lacks."""
    policy = SSL_POLICIES[name]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    apply_ssl_policy(context, name)
    assert (context.minimum_version.name, context.maximum_version.name) == (
        {"TLSv1": "TLSv1", "TLSv1.1": "TLSv1_1", "TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3"}[policy.protocols[0]],
        {"TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3"}[policy.protocols[-1]],
    )
    offered = context.get_ciphers()  # lists both kinds whatever the version bounds: compare what can be used
    gaps = local_gaps(policy)
    if "TLSv1.3" in policy.protocols:
        assert [c["name"] for c in offered if c["protocol"] == "TLSv1.3"] == list(policy.tls13_suites)
    if policy.protocols[0] != "TLSv1.3":
        wanted = [c for c in policy.ciphers if not c.startswith("TLS_") and c not in gaps]
        assert [c["name"] for c in offered if c["protocol"] != "TLSv1.3"] == wanted
    assert context.options & ssl.OP_CIPHER_SERVER_PREFERENCE


def test_what_local_openssl_cannot_offer_is_named() -> None:
    """Here (OpenSSL 3.0): DES-CBC3-SHA where the build lacks 3DES, and the PQ policies' ML-KEM hybrid groups;
    TLS 1.3 suites are selectable. Nothing else is missing."""
    assert TLS13_SUITES_SETTABLE
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    probe.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    has_3des = any(c["name"] == "DES-CBC3-SHA" for c in probe.get_ciphers())
    for name, policy in SSL_POLICIES.items():
        expected = (() if has_3des or "DES-CBC3-SHA" not in policy.ciphers else ("DES-CBC3-SHA",))
        gaps = local_gaps(policy)
        assert set(gaps) - set(PQ_GROUPS) == set(expected), name
        assert not policy.post_quantum or ssl.OPENSSL_VERSION_INFO >= (3, 5) or set(PQ_GROUPS) <= set(gaps), name


@pytest.fixture
def cert_arn(acm) -> str:
    return import_certificate(acm, trustme.CA())


def _https_listener(elbv2, lb: str, tg: str, cert_arn: str, policy: str) -> str:
    return alb_support.listener(elbv2, lb, alb_support.forward(tg), protocol="HTTPS",
                                Certificates=[{"CertificateArn": cert_arn}], SslPolicy=policy)


def test_botocores_create_listener_example_policy_is_accepted(elbv2, subnets, vpc_id, cert_arn) -> None:
    """elbv2-create-listener-2: an HTTPS listener on an ALB with ELBSecurityPolicy-2015-05."""
    lb = alb_support.alb(elbv2, subnets)
    tg = alb_support.target_group(elbv2, vpc_id, "tg")
    arn = _https_listener(elbv2, lb, tg, cert_arn, f"{P}2015-05")
    assert elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]["SslPolicy"] == f"{P}2015-05"
    elbv2.modify_listener(ListenerArn=arn, SslPolicy=f"{P}TLS-1-0-2015-04")
    assert elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]["SslPolicy"] == f"{P}TLS-1-0-2015-04"
    with pytest.raises(elbv2.exceptions.SSLPolicyNotFoundException):
        elbv2.modify_listener(ListenerArn=arn, SslPolicy=f"{P}2015-06")


def test_an_alb_does_not_mix_fips_and_non_fips_listeners(elbv2, subnets, vpc_id, cert_arn) -> None:
    """ALB guide, FIPS security policies: its secure listeners all use FIPS policies, or none does."""
    lb = alb_support.alb(elbv2, subnets)
    tg = alb_support.target_group(elbv2, vpc_id, "tg")
    first = _https_listener(elbv2, lb, tg, cert_arn, f"{P}TLS13-1-2-FIPS-2023-04")
    with pytest.raises(ClientError) as error:
        _https_listener(elbv2, lb, tg, cert_arn, f"{P}TLS13-1-2-2021-06")
    assert error.value.response["Error"]["Code"] == "InvalidConfigurationRequest"
    second = _https_listener(elbv2, lb, tg, cert_arn, f"{P}TLS13-1-2-RFC9151-FIPS-2023-07")  # FIPS with FIPS
    with pytest.raises(ClientError) as error:
        elbv2.modify_listener(ListenerArn=second, SslPolicy=f"{P}2016-08")
    assert error.value.response["Error"]["Code"] == "InvalidConfigurationRequest"
    elbv2.delete_listener(ListenerArn=second)
    elbv2.modify_listener(ListenerArn=first, SslPolicy=f"{P}2016-08")  # alone, a listener may switch family
    assert elbv2.describe_listeners(ListenerArns=[first])["Listeners"][0]["SslPolicy"] == f"{P}2016-08"


def test_an_nlb_may_mix_fips_and_non_fips_listeners(elbv2, subnets, vpc_id, cert_arn) -> None:
    lb = nlb_support.nlb(elbv2, subnets)
    tg = nlb_support.target_group(elbv2, vpc_id, "tg", ports=[])
    cert = [{"CertificateArn": cert_arn}]
    nlb_support.listener(elbv2, lb, tg, protocol="TLS", port=alb_support.free_port(), Certificates=cert,
                         SslPolicy=f"{P}TLS13-1-2-FIPS-2023-04")
    arn = nlb_support.listener(elbv2, lb, tg, protocol="TLS", port=alb_support.free_port(), Certificates=cert,
                               SslPolicy=f"{P}TLS13-1-2-2021-06")
    assert elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]["SslPolicy"] == f"{P}TLS13-1-2-2021-06"
