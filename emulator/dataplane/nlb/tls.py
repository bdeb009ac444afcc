"""TLS termination for TLS listeners: the listener's certificates, SNI across them, ALPN per AlpnPolicy.

The default certificate is ``Certificates[0]``; certificates added with AddListenerCertificates join the
SNI set. A ClientHello whose server name matches a certificate's DNS names (exact, or one ``*.`` label)
gets that certificate, any other gets the default (AWS NLB guide "Server certificates"). The ALPN
preference lists are AWS's (NLB guide "ALPN policies"); the server's order decides. The listener's
SslPolicy sets the ciphers for TLS 1.2 and whether TLS 1.3 is offered.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Callable, Iterable

from cryptography import x509

from api_models.ssl_policies import DEFAULT_POLICY, SSL_POLICIES
from emulator.dataplane.runtime import CertificateSource

ALPN_POLICIES: dict[str, list[str]] = {
    "HTTP1Only": ["http/1.1", "http/1.0"],
    "HTTP2Only": ["h2"],
    "HTTP2Optional": ["http/1.1", "http/1.0", "h2"],
    "HTTP2Preferred": ["h2", "http/1.1", "http/1.0"],
    "None": [],
}


def _apply_policy(context: ssl.SSLContext, policy_name: str) -> None:
    """The security policy's TLS 1.2 ciphers and highest version. TLS 1.0/1.1, which some policies allow,
    stay off: the local OpenSSL refuses them at its default security level."""
    policy = SSL_POLICIES.get(policy_name) or SSL_POLICIES[DEFAULT_POLICY]
    if "TLSv1.3" not in policy.protocols:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    if "TLSv1.2" not in policy.protocols:
        context.minimum_version = ssl.TLSVersion.TLSv1_3
    try:
        context.set_ciphers(policy.tls12_ciphers)
    except ssl.SSLError:  # none of the policy's ciphers is available locally: keep OpenSSL's defaults
        pass


def _context(cert_pem: str, key_pem: str, chain_pem: str | None, alpn: list[str], policy: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _apply_policy(context, policy)
    with tempfile.TemporaryDirectory() as directory:  # load_cert_chain only reads files
        cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
        with open(cert_path, "w") as cert_file:
            cert_file.write(cert_pem.rstrip("\n") + "\n" + (chain_pem or ""))
        with open(key_path, "w") as key_file:
            key_file.write(key_pem)
        context.load_cert_chain(cert_path, key_path)
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


def _names(cert_pem: str) -> list[str]:
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    common = [a.value for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    return [str(n).lower() for n in [*names, *common]]


def _matches(pattern: str, server_name: str) -> bool:
    if pattern.startswith("*."):
        head, _, rest = server_name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == server_name


def server_context(
    arns: Iterable[str], alpn_policy: str, ssl_policy: str, certificates: CertificateSource
) -> ssl.SSLContext | None:
    """The listener's SSL context (default certificate first), or None when no certificate can be loaded.

    Reads certificate material from ACM: call it off the event loop."""
    alpn = ALPN_POLICIES.get(alpn_policy, [])
    loaded: list[tuple[list[str], ssl.SSLContext]] = []
    for arn in dict.fromkeys(arns):
        material = certificates(arn)
        if material is not None:
            loaded.append((_names(material[0]), _context(*material, alpn, ssl_policy)))
    if not loaded:
        return None
    default = loaded[0][1]
    default.sni_callback = _sni_chooser(loaded)
    return default


def _sni_chooser(loaded: list[tuple[list[str], ssl.SSLContext]]) -> Callable[..., None]:
    def choose(connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        if not server_name:
            return
        name = server_name.lower()
        for patterns, context in loaded:
            if any(_matches(p, name) for p in patterns):
                connection.context = context
                return

    return choose
