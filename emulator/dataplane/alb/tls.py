"""TLS termination for HTTPS listeners: the listener's ACM certificates, chosen by SNI, under its SslPolicy.

The default certificate (``Certificates[0]``) answers when the client sends no SNI name or one that no
certificate covers; certificates added with AddListenerCertificates are matched by their SAN/CN names
(AWS "SSL certificates": "smart certificate selection").
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import tempfile
import warnings
from collections.abc import Callable

from cryptography import x509
from cryptography.x509.oid import NameOID

from api_models.resources import Listener

log = logging.getLogger("elbv2_emulator.dataplane")
CertificateSource = Callable[[str], "tuple[str, str, str | None] | None"]

# SslPolicy name fragments -> the lowest protocol version the policy allows.
_TLS13_ONLY = ("TLS13-1-3",)
_TLS12_MIN = ("TLS13-1-2", "TLS-1-2", "FS-1-2", "TLS13-1-2-Res")


def minimum_version(policy: str | None) -> ssl.TLSVersion:
    policy = policy or "ELBSecurityPolicy-2016-08"
    if any(part in policy for part in _TLS13_ONLY):
        return ssl.TLSVersion.TLSv1_3
    if any(part in policy for part in _TLS12_MIN):
        return ssl.TLSVersion.TLSv1_2
    return ssl.TLSVersion.TLSv1  # 2016-08 and the other legacy policies still accept TLS 1.0


def _names(cert_pem: str) -> list[str]:
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        names = []
    common = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return [n.lower() for n in [*names, *common]]


def _matches(pattern: str, name: str) -> bool:
    if pattern.startswith("*."):
        return re.fullmatch(r"[^.]+" + re.escape(pattern[1:]), name) is not None
    return pattern == name


def _context(policy: str | None, cert_pem: str, key_pem: str, chain_pem: str | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():  # TLS 1.0 is deprecated, but the 2016-08 policy does allow it
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = minimum_version(policy)
    # load_cert_chain reads files only; the PEMs live in moto's ACM, so they pass through a private temp file.
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as handle:
        handle.write(cert_pem.strip() + "\n" + (chain_pem or "").strip() + "\n" + key_pem.strip() + "\n")
    try:
        context.load_cert_chain(handle.name)
    finally:
        os.unlink(handle.name)
    return context


class TlsTerminator:
    """The listening socket's SSLContext; its SNI callback switches to the certificate that fits the name."""

    def __init__(self) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.sni_callback = self._choose
        self._by_name: list[tuple[str, ssl.SSLContext]] = []
        self._default: ssl.SSLContext | None = None

    def configure(
        self, listener: Listener, certificates: CertificateSource,
        prepare: Callable[[ssl.SSLContext], None] | None = None,
    ) -> None:
        """``prepare`` finishes each new context (mTLS: client-certificate settings, see ``client_tls``)."""
        arns = [c["CertificateArn"] for c in listener.Certificates or [] if c.get("CertificateArn")]
        arns += [a for a in listener.extra_certificates if a not in arns]
        contexts: list[tuple[str, ssl.SSLContext]] = []
        default: ssl.SSLContext | None = None
        for arn in arns:
            material = certificates(arn)
            if material is None:
                log.warning("certificate %s not found for listener %s", arn, listener.ListenerArn)
                continue
            context = _context(listener.SslPolicy, *material)
            if prepare is not None:
                prepare(context)
            default = default or context
            contexts += [(name, context) for name in _names(material[0])]
        self._by_name, self._default = contexts, default
        if default is not None:  # the listening context must hold a certificate for clients without SNI
            self.context = default
            self.context.sni_callback = self._choose

    def _choose(self, sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        if name:
            lowered = name.lower()
            for pattern, context in self._by_name:
                if _matches(pattern, lowered):
                    sock.context = context
                    return
        if self._default is not None:
            sock.context = self._default
