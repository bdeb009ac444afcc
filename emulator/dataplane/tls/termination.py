"""TLS termination for ALB HTTPS and NLB TLS listeners: the listener's certificates, chosen by SNI, under its
SslPolicy.

The default certificate (``Certificates[0]``) answers a client that sends no server name or one that no
certificate covers; certificates added with AddListenerCertificates are matched by their SAN/CN names ("SSL
certificates" in the ALB guide: smart certificate selection; "Server certificates" in the NLB guide). The
listening context stays the same object for the listener's life: its SNI callback switches each handshake to
the context of the certificate chosen, so new certificates or policies apply without re-binding.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from api_models.resources import Listener
from emulator.dataplane.runtime import CertificateSource
from emulator.dataplane.tls.certificates import certificate_names, load_certificate, name_matches
from emulator.dataplane.tls.policy import apply_ssl_policy

log = logging.getLogger("elbv2_emulator.dataplane")
Prepare = Callable[[ssl.SSLContext], None]  # finishes each certificate's context (ALPN, mTLS)


def certificate_arns(listener: Listener) -> list[str]:
    """The listener's default certificate, then those added with AddListenerCertificates."""
    arns = [c["CertificateArn"] for c in listener.Certificates or [] if c.get("CertificateArn")]
    return arns + [arn for arn in listener.extra_certificates if arn not in arns]


@dataclass(frozen=True, slots=True)
class TlsSession:
    """What access and connection logs say of a client's TLS session (OpenSSL's names, as AWS logs them)."""

    protocol: str  # e.g. TLSv1.3
    cipher: str  # e.g. TLS_AES_128_GCM_SHA256, ECDHE-RSA-AES128-GCM-SHA256
    server_name: str  # the SNI the client sent ("-": none)
    certificate_arn: str  # the certificate presented
    handshake_seconds: float  # from the ClientHello to the end of the handshake (-1: unknown)


class TlsTerminator:
    """``context`` is what the listening socket uses; ``configure`` loads (and reloads) the certificates.
    ``observed``: remember each handshake's ClientHello (SNI, time) for ``session``."""

    def __init__(self, observed: bool = False) -> None:
        self.observed = observed
        self._hellos: WeakKeyDictionary[ssl.SSLObject, tuple[str, float]] = WeakKeyDictionary()
        self._arns: dict[ssl.SSLContext, str] = {}
        # Until a certificate loads, a context without one: every handshake fails, none is served in clear.
        self._placeholder = self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.sni_callback = self._choose
        self._by_name: list[tuple[str, ssl.SSLContext]] = []
        self._default: ssl.SSLContext | None = None

    @property
    def loaded(self) -> bool:
        return self._default is not None

    def configure(
        self,
        arns: Iterable[str],
        ssl_policy: str | None,
        certificates: CertificateSource,
        prepare: Prepare | None = None,
    ) -> None:
        """Load every certificate of ``arns`` (the default first), or keep the current ones when none loads.
        Reads ACM in process: about a millisecond, done when a listener's certificates or policy change."""
        arns = list(arns)
        by_name: list[tuple[str, ssl.SSLContext]] = []
        default: ssl.SSLContext | None = None
        arns_of: dict[ssl.SSLContext, str] = {}
        for arn in dict.fromkeys(arns):
            material = certificates(arn)
            if material is None:
                log.warning("certificate %s cannot be loaded", arn)
                continue
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            apply_ssl_policy(context, ssl_policy)
            load_certificate(context, *material)
            if prepare is not None:
                prepare(context)
            default = default or context
            arns_of[context] = arn
            by_name += [(name, context) for name in certificate_names(material[0])]
        if default is None:
            log.warning("no certificate of %s could be loaded: the previous ones stay", list(arns) or "[]")
            return
        self._by_name, self._default, self._arns = by_name, default, arns_of
        if self.context is self._placeholder:
            # The first certificate's context becomes the listening one (before the socket is bound).
            self.context = default
            self.context.sni_callback = self._choose
        else:
            # A handshake keeps the listening context's versions and ciphers when SNI switches its context.
            apply_ssl_policy(self.context, ssl_policy)

    def session(self, ssl_object: ssl.SSLObject) -> TlsSession:
        """The TLS facts of a finished handshake (for an observed listener)."""
        server_name, hello = self._hellos.pop(ssl_object, ("-", -1.0))
        cipher = ssl_object.cipher()
        return TlsSession(ssl_object.version() or "-", cipher[0] if cipher else "-", server_name,
                          self._arns.get(ssl_object.context, "-"), time.time() - hello if hello > 0 else -1.0)

    def _choose(self, sock: ssl.SSLObject, server_name: str | None, _listening: ssl.SSLContext) -> None:
        if self.observed:  # (the SNI callback runs on the ClientHello: the handshake's start, as AWS times it)
            self._hellos[sock] = (server_name or "-", time.time())
        if server_name:
            name = server_name.lower()
            for pattern, context in self._by_name:
                if name_matches(pattern, name):
                    sock.context = context
                    return
        if self._default is not None:
            sock.context = self._default
