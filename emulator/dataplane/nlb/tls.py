"""TLS listeners' ALPN policies (NLB guide, "ALPN policies": AWS's preference lists; the server's order
decides), on top of the data plane's one TLS termination (``dataplane.tls``)."""

from __future__ import annotations

import ssl
from collections.abc import Iterable

from emulator.dataplane.runtime import CertificateSource
from emulator.dataplane.tls.termination import TlsTerminator

ALPN_POLICIES: dict[str, list[str]] = {
    "HTTP1Only": ["http/1.1", "http/1.0"],
    "HTTP2Only": ["h2"],
    "HTTP2Optional": ["http/1.1", "http/1.0", "h2"],
    "HTTP2Preferred": ["h2", "http/1.1", "http/1.0"],
    "None": [],
}


def server_context(
    arns: Iterable[str], alpn_policy: str, ssl_policy: str, certificates: CertificateSource
) -> ssl.SSLContext | None:
    """The listener's SSL context (default certificate first), or None when no certificate can be loaded.

    Reads certificate material from ACM: call it off the event loop."""
    alpn = ALPN_POLICIES.get(alpn_policy, [])
    terminator = TlsTerminator()
    terminator.configure(arns, ssl_policy or None, certificates,
                         (lambda context: context.set_alpn_protocols(alpn)) if alpn else None)
    return terminator.context if terminator.loaded else None
