"""What an HTTPS listener learns from the client's TLS session and tells the target.

mTLS (AWS "Mutual authentication with TLS in Application Load Balancer",
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/mutual-authentication.html):
- ``passthrough``: the listener asks for a client certificate and accepts any (or none) without verifying it;
  the target gets ``X-Amzn-Mtls-Clientcert``, the URL-encoded PEM chain, leaf first.
- ``verify``: the client must present a certificate that chains to the trust store's CA bundle (expiry
  ignored with ``IgnoreClientCertificateExpiry``); a leaf whose serial is on one of the trust store's
  revocation lists is refused. The target gets ``-Serial-Number``, ``-Issuer``, ``-Subject``, ``-Validity``
  and ``-Leaf``.
``routing.http.x_amzn_tls_version_and_cipher_suite.enabled`` (LB) adds ``X-Amzn-Tls-Version`` and
``X-Amzn-Tls-Cipher-Suite``. Every header name can be renamed with the listener attribute
``routing.http.request.<name>.header_name``. The headers are computed once per connection.
"""

from __future__ import annotations

import base64
import ctypes
import logging
import ssl
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from api_models.attribute_views import ListenerSettings, LoadBalancerSettings
from api_models.resources import Listener
from api_models.trust_stores import TrustStore
from emulator.dataplane.alb.heads import Headers

log = logging.getLogger("elbv2_emulator.dataplane")

_NO_CHECK_TIME = 0x200000  # OpenSSL X509_V_FLAG_NO_CHECK_TIME (not exported by the ssl module)


def _url_pem(der_certificates: list[bytes]) -> str:
    """AWS: the URL-encoded PEM, with ``+=/`` as safe characters."""
    pem = "".join(x509.load_der_x509_certificate(d).public_bytes(Encoding.PEM).decode() for d in der_certificates)
    return quote(pem, safe="+=/")


def _revoked(store: TrustStore | None) -> frozenset[tuple[bytes, int]]:
    """(issuer name DER, serial) of every entry on the trust store's revocation lists."""
    entries: set[tuple[bytes, int]] = set()
    for revocation in store.revocations if store is not None else ():
        content = base64.b64decode(revocation.content_b64)
        try:
            crl = x509.load_pem_x509_crl(content) if b"-----BEGIN" in content else x509.load_der_x509_crl(content)
        except ValueError:
            continue
        issuer = crl.issuer.public_bytes()
        entries.update((issuer, revoked.serial_number) for revoked in crl)
    return frozenset(entries)


class _AcceptAnyCertificate:
    """Passthrough needs "ask for a certificate, accept whatever comes": OpenSSL does that with a verify
    callback that always succeeds, which the ssl module does not expose, so it is set through ctypes on the
    context's SSL_CTX (checked against the context's own verify mode first; if the layout differs,
    passthrough falls back to requiring nothing and sends no header)."""

    _CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)

    def __init__(self) -> None:
        self.callback = self._CALLBACK(lambda ok, store: 1)
        self.lib: ctypes.CDLL | None = None
        try:
            self.lib = ctypes.CDLL("libssl.so.3")
            self.lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
            self.lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, self._CALLBACK]
        except (OSError, AttributeError):
            self.lib = None

    def apply(self, context: ssl.SSLContext) -> bool:
        context.verify_mode = ssl.CERT_OPTIONAL  # SSL_VERIFY_PEER, no FAIL_IF_NO_PEER_CERT
        pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value  # PySSLContext.ctx
        if self.lib is None or self.lib.SSL_CTX_get_verify_mode(pointer) != 1:
            log.warning("mTLS passthrough unavailable here: no client certificate is requested")
            context.verify_mode = ssl.CERT_NONE  # never refuse a client the real passthrough would accept
            return False
        self.lib.SSL_CTX_set_verify(pointer, 1, self.callback)
        return True


_ACCEPT_ANY = _AcceptAnyCertificate()


class ClientTls:
    """A listener's client-TLS settings, compiled once per configuration."""

    __slots__ = ("mode", "ca_bundle", "ignore_expiry", "revoked", "names", "tls_info", "request_names")

    def __init__(self, listener: Listener, trust_store: TrustStore | None, listener_settings: ListenerSettings,
                 balancer_settings: LoadBalancerSettings) -> None:
        settings = listener.MutualAuthentication or {}
        self.mode = (settings.get("Mode") or "off") if listener.Protocol == "HTTPS" else "off"
        if self.mode == "verify" and trust_store is None:
            self.mode = "off"  # the control plane requires the store; a vanished one cannot verify anything
        self.ca_bundle = trust_store.ca_bundle_pem if trust_store is not None else ""
        self.ignore_expiry = bool(settings.get("IgnoreClientCertificateExpiry"))
        self.revoked = _revoked(trust_store) if self.mode == "verify" else frozenset()
        self.names = dict(listener_settings.request_header_names)
        self.tls_info = listener.Protocol == "HTTPS" and balancer_settings.tls_version_and_cipher_headers
        # Client-sent headers with these names are dropped: only the LB may set them.
        used = [k for k in self.names if (k.startswith("x_amzn_mtls") and self.mode != "off") or
                (k.startswith("x_amzn_tls") and self.tls_info)]
        self.request_names = frozenset(self.names[k].lower().encode("latin-1") for k in used)

    def prepare(self, context: ssl.SSLContext) -> None:
        """Apply the mTLS mode to one of the listener's SSL contexts (each SNI certificate has its own)."""
        if self.mode == "off":
            return
        context.options |= ssl.OP_NO_TICKET  # AWS: no session resumption with mTLS
        if self.mode == "passthrough":
            _ACCEPT_ANY.apply(context)
            return
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=self.ca_bundle)
        if self.ignore_expiry:
            context.verify_flags |= _NO_CHECK_TIME

    def headers(self, ssl_object: ssl.SSLObject | None) -> Headers | None:
        """The headers this connection adds to every request, or None when it must be refused."""
        if ssl_object is None:
            return []
        out: list[tuple[str, str]] = []
        if self.mode != "off":
            leaf_der = ssl_object.getpeercert(binary_form=True)
            if leaf_der is not None:
                if self.mode == "passthrough":
                    out.append((self.names["x_amzn_mtls_clientcert"], _url_pem(_chain(ssl_object, leaf_der))))
                else:
                    leaf = x509.load_der_x509_certificate(leaf_der)
                    if (leaf.issuer.public_bytes(), leaf.serial_number) in self.revoked:
                        return None
                    out += self._verify_headers(leaf, leaf_der)
        if self.tls_info:
            cipher = ssl_object.cipher()
            out.append((self.names["x_amzn_tls_version"], ssl_object.version() or ""))
            out.append((self.names["x_amzn_tls_cipher_suite"], cipher[0] if cipher else ""))
        return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in out]

    def _verify_headers(self, leaf: x509.Certificate, leaf_der: bytes) -> list[tuple[str, str]]:
        serial = format(leaf.serial_number, "X")
        validity = (
            f"NotBefore={leaf.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ};"
            f"NotAfter={leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
        )
        return [
            (self.names["x_amzn_mtls_clientcert_serial_number"], serial.zfill(len(serial) + len(serial) % 2)),
            (self.names["x_amzn_mtls_clientcert_issuer"], leaf.issuer.rfc4514_string()),
            (self.names["x_amzn_mtls_clientcert_subject"], leaf.subject.rfc4514_string()),
            (self.names["x_amzn_mtls_clientcert_validity"], validity),
            (self.names["x_amzn_mtls_clientcert_leaf"], _url_pem([leaf_der])),
        ]


def _chain(ssl_object: ssl.SSLObject, leaf_der: bytes) -> list[bytes]:
    """The chain the client sent, leaf first (``get_unverified_chain`` is public from Python 3.13)."""
    inner = getattr(ssl_object, "_sslobj", ssl_object)
    getter = getattr(ssl_object, "get_unverified_chain", None) or getattr(inner, "get_unverified_chain", None)
    chain = getter() if getter is not None else None
    if not chain:
        return [leaf_der]
    ders = [c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain]  # type: ignore[attr-defined]
    return ders if ders[0] == leaf_der else [leaf_der, *ders]
