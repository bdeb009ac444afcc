"""An ELB security policy applied to a server context: exactly the protocol versions and ciphers that
DescribeSSLPolicies lists for it ("Security policies for your Application Load Balancer", and the NLB guide's
page of the same name), in its priority order, the server's order deciding (as AWS's pages describe).

Python's ``ssl`` cannot choose TLS 1.3 suites, and the FIPS and RFC 9151 policies list fewer than OpenSSL's
three defaults (no ChaCha20; AES-256 only). ``SSL_CTX_set_ciphersuites`` is therefore called through ctypes on
the context's own ``SSL_CTX``, found where CPython keeps it (right after the object header) and checked
against the context's options before use; should that check ever fail, OpenSSL's defaults stay and
``TLS13_SUITES_SETTABLE`` says so.

What the local OpenSSL lacks is left out rather than refused: ``local_gaps`` names it (``DES-CBC3-SHA`` on
builds without 3DES; the PQ policies' ML-KEM hybrid groups before OpenSSL 3.5). FIPS policies get the same
suites from OpenSSL's default provider: the protocols and ciphers are AWS's, the FIPS-validated module is not.
Policies that allow TLS 1.0/1.1 need OpenSSL security level 0, which modern builds keep off by default for
the SHA-1 signatures those versions use.
"""

from __future__ import annotations

import _ssl
import ctypes
import ssl
import warnings
from functools import cache

from api_models.ssl_policies import DEFAULT_POLICY, SSL_POLICIES, SslPolicy

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
# The ML-KEM hybrids the PQ policies add ("Security policies ...": SecP256r1MLKEM768, SecP384r1MLKEM1024,
# X25519MLKEM768); OpenSSL has them from 3.5.
PQ_GROUPS = ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024")


def apply_ssl_policy(context: ssl.SSLContext, policy_name: str | None) -> None:
    """Restrict ``context`` to the policy (the API's default policy when none is named)."""
    policy = SSL_POLICIES.get(policy_name or DEFAULT_POLICY) or SSL_POLICIES[DEFAULT_POLICY]
    versions = sorted(_VERSIONS[name] for name in policy.protocols)
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated in Python, and still in AWS's legacy policies
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version, context.maximum_version = versions[0], versions[-1]
    # AWS: "the first cipher on the server's list that matches any one of the client's ciphers is selected".
    context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if ciphers := _available_tls12(policy):  # a TLS 1.3-only policy has none
        legacy = versions[0] < ssl.TLSVersion.TLSv1_2
        context.set_ciphers(ciphers + (":@SECLEVEL=0" if legacy else ""))
    if policy.tls13_suites:
        _set_tls13_suites(context, ":".join(policy.tls13_suites))


def local_gaps(policy: SslPolicy) -> tuple[str, ...]:
    """What the policy lists that this OpenSSL cannot offer: ciphers, ``TLSv1.3 suite selection`` or PQ groups."""
    known = _known_tls12_ciphers()
    gaps = [c for c in policy.ciphers if not c.startswith("TLS_") and c not in known]
    if policy.tls13_suites and not TLS13_SUITES_SETTABLE:
        gaps.append("TLSv1.3 suite selection")
    if policy.post_quantum and not _has_pq_groups():
        gaps += PQ_GROUPS
    return tuple(gaps)


def _available_tls12(policy: SslPolicy) -> str:
    # OpenSSL refuses a whole list naming a cipher it lacks only when nothing matches; filtering keeps the
    # string honest and makes a policy whose ciphers are all missing fall back to TLS 1.3 (or fail loudly).
    known = _known_tls12_ciphers()
    return ":".join(c for c in policy.tls12_ciphers.split(":") if c in known)


@cache
def _known_tls12_ciphers() -> frozenset[str]:
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    probe.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return frozenset(c["name"] for c in probe.get_ciphers() if c["protocol"] != "TLSv1.3")


@cache
def _has_pq_groups() -> bool:
    # set_ecdh_curve takes one group name and raises for one this OpenSSL does not know.
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).set_ecdh_curve(PQ_GROUPS[0])
    except (ValueError, ssl.SSLError):
        return False
    return True


def _ssl_ctx_of(context: ssl.SSLContext) -> int | None:
    """The ``SSL_CTX *`` of a CPython ``SSLContext`` (``PySSLContext.ctx``, the first field after the header),
    when libssl reads the same options there as Python does (else the layout is not what is assumed)."""
    pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    if not pointer or _LIBSSL is None or _LIBSSL.SSL_CTX_get_options(pointer) != context.options:
        return None
    return pointer


def _load_libssl() -> ctypes.CDLL | None:
    # The libssl _ssl itself links to: dlsym on the extension's handle searches its dependencies.
    try:
        lib = ctypes.CDLL(_ssl.__file__)
        lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.SSL_CTX_set_ciphersuites.restype = ctypes.c_int
        lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_get_options.restype = ctypes.c_uint64
    except (OSError, AttributeError):
        return None
    return lib


def _set_tls13_suites(context: ssl.SSLContext, suites: str) -> bool:
    pointer = _ssl_ctx_of(context)
    if pointer is None or _LIBSSL is None:
        return False
    return bool(_LIBSSL.SSL_CTX_set_ciphersuites(pointer, suites.encode()))


_LIBSSL = _load_libssl()
TLS13_SUITES_SETTABLE: bool = _set_tls13_suites(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), "TLS_AES_256_GCM_SHA384")
