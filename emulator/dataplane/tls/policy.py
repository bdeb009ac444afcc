"""An ELB security policy applied to a server context: exactly the protocol versions and ciphers that
DescribeSSLPolicies lists for it ("Security policies for your Application Load Balancer", and the NLB guide's
page of the same name).

TLS 1.3 suites cannot be chosen through Python's ``ssl``; OpenSSL's defaults are the three that every AWS
TLS 1.3 policy lists. Policies that allow TLS 1.0/1.1 need OpenSSL security level 0, which modern OpenSSL
builds keep off by default for the SHA-1 signatures those versions use.
"""

from __future__ import annotations

import ssl
import warnings

from api_models.ssl_policies import DEFAULT_POLICY, SSL_POLICIES

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def apply_ssl_policy(context: ssl.SSLContext, policy_name: str | None) -> None:
    """Restrict ``context`` to the policy (the API's default policy when none is named)."""
    policy = SSL_POLICIES.get(policy_name or DEFAULT_POLICY) or SSL_POLICIES[DEFAULT_POLICY]
    versions = sorted(_VERSIONS[name] for name in policy.protocols)
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated in Python, and still in AWS's legacy policies
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version, context.maximum_version = versions[0], versions[-1]
    if ciphers := policy.tls12_ciphers:  # a TLS 1.3-only policy has none
        legacy = versions[0] < ssl.TLSVersion.TLSv1_2
        context.set_ciphers(ciphers + (":@SECLEVEL=0" if legacy else ""))
