"""The TLS client contexts for every connection the load balancer opens to a target.

AWS never verifies target certificates, neither for traffic (ALB HTTPS and NLB TLS target groups) nor for
health checks (ALB guide, "Create an HTTPS listener": "The load balancer does not validate these
certificates"), so the contexts are unverified and shared.

Which protocols and ciphers traffic offers a target is the back-end security policy, which follows the
listener's ("Security policies for your Application Load Balancer" and "Security policies for your Network
Load Balancer", Considerations: "You can choose the security policy that is used for front-end connections,
but not backend connections"):
- a FIPS listener policy (ALB): ``ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04``;
- a TLS 1.3 listener policy: ``ELBSecurityPolicy-TLS13-1-0-2021-06``;
- anything else, an HTTP listener included: ``ELBSecurityPolicy-2016-08``.
Health checks belong to no listener; they keep OpenSSL's defaults (TLS 1.2 and 1.3).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import cache

from api_models.ssl_policies import DEFAULT_POLICY, SSL_POLICIES
from emulator.dataplane.tls.policy import apply_ssl_policy

BACKEND_TLS13 = "ELBSecurityPolicy-TLS13-1-0-2021-06"
BACKEND_FIPS = "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04"


def backend_policy(listener_policy: str | None, load_balancer_type: str) -> str:
    """The security policy of the connections to targets behind a listener using ``listener_policy``."""
    policy = SSL_POLICIES.get(listener_policy or DEFAULT_POLICY)
    if policy is None:
        return DEFAULT_POLICY
    if load_balancer_type == "application" and "FIPS" in policy.name:  # (the NLB page names no FIPS case)
        return BACKEND_FIPS
    return BACKEND_TLS13 if "TLSv1.3" in policy.protocols else DEFAULT_POLICY


@dataclass(frozen=True, slots=True, eq=False)
class TargetTls:
    """The client contexts of one back-end policy: HTTP/1.1 (and NLB TLS) and HTTP/2 (ALPN h2). One object
    per policy (``target_tls``), so an ALB listener's pools see at once whether an update changed it."""

    context: ssl.SSLContext
    h2_context: ssl.SSLContext


@cache
def target_tls(policy: str) -> TargetTls:
    """The (shared) contexts for back-end policy ``policy``."""
    return TargetTls(_client_context(policy), _client_context(policy, alpn=["h2"]))


def _client_context(policy: str | None, alpn: list[str] | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if policy is not None:
        apply_ssl_policy(context, policy)
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


# Health checks (HTTPS, and HTTP/2 and gRPC ones over ALPN h2).
HEALTH_CHECK_TLS = _client_context(None)
HEALTH_CHECK_TLS_H2 = _client_context(None, alpn=["h2"])
