"""The TLS client contexts for every connection the load balancer opens to a target.

AWS never verifies target certificates, neither for traffic (ALB HTTPS and NLB TLS target groups) nor for
health checks (ALB guide, "Create an HTTPS listener": "The load balancer does not validate these
certificates"), so shared, unverified contexts serve them all.
"""

from __future__ import annotations

import ssl


def _unverified_client_context(alpn: list[str] | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


TARGET_TLS = _unverified_client_context()
# HTTP2 and GRPC target groups (traffic and gRPC health checks) speak HTTP/2, offered by ALPN.
TARGET_TLS_H2 = _unverified_client_context(alpn=["h2"])
