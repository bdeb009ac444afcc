"""TLS for the whole data plane, in one place.

- ``termination``: the listening side of ALB HTTPS and NLB TLS listeners (certificates chosen by SNI, the
  SslPolicy from ``policy``, ALPN and mTLS settings through a ``prepare`` hook);
- ``policy``: AWS's security-policy table (``api_models.ssl_policies``) applied to an ``ssl.SSLContext``;
- ``certificates``: the names a certificate covers and loading PEM material into a context;
- ``targets``: the client contexts for connections to targets (never verified, as on AWS);
- ``outbound``: the one HTTP client for calls the load balancer makes itself (IdP, JWKS), verified against
  the system trust store plus ``ELBV2_EMULATOR_CA_BUNDLE``.
"""
