"""TLS listeners' ALPN policies (NLB guide, "ALPN policies": AWS's preference lists; the server's order
decides), on top of the data plane's one TLS termination (``dataplane.tls``)."""

from __future__ import annotations

from api_models.resources import Listener
from emulator.dataplane.runtime import CertificateSource
from emulator.dataplane.tls.termination import TlsTerminator, certificate_arns

ALPN_POLICIES: dict[str, list[str]] = {
    "HTTP1Only": ["http/1.1", "http/1.0"],
    "HTTP2Only": ["h2"],
    "HTTP2Optional": ["http/1.1", "http/1.0", "h2"],
    "HTTP2Preferred": ["h2", "http/1.1", "http/1.0"],
    "None": [],
}


def configure_tls(terminator: TlsTerminator, listener: Listener, certificates: CertificateSource) -> None:
    """Load (or reload, in place: the listening socket stays) the listener's certificates, policy and ALPN."""
    alpn = ALPN_POLICIES.get((listener.AlpnPolicy or ["None"])[0], [])
    terminator.configure(certificate_arns(listener), listener.SslPolicy, certificates,
                         (lambda context: context.set_alpn_protocols(alpn)) if alpn else None)
