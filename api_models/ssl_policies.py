"""AWS's predefined TLS security policies: protocol versions and ciphers, in AWS's priority order.

Sources, in the order they were trusted:

- "Security policies for your Application Load Balancer" and "Security policies for your Network Load
  Balancer" (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html,
  .../latest/network/describe-ssl-policies.html): the policy names, the "Protocols by policy" and "Ciphers by
  policy" tables of the TLS, FIPS and FS sections, and the PQ/RFC 9151 considerations. Both pages list the same
  policies, except ``ELBSecurityPolicy-2015-05``, which only the NLB page still names.
- The ALB guide of 2023 (github.com/awsdocs/elb-application-load-balancers-user-guide,
  doc_source/create-https-listener.md): ``ELBSecurityPolicy-2015-05`` "(identical to
  ``ELBSecurityPolicy-2016-08``)", and ``ELBSecurityPolicy-TLS-1-0-2015-04`` = 2016-08 plus ``DES-CBC3-SHA``
  (the current pages no longer list 2015-04; the API and botocore's examples still accept both).
- botocore's examples (data/elbv2/2015-12-01/examples-1.json): CreateListener on an ALB with
  ``SslPolicy=ELBSecurityPolicy-2015-05``, and a DescribeSSLPolicies answer for it. That answer is from 2016 and
  still lists ``DHE-RSA-AES128-SHA`` (priority 7), which AWS has since removed; the guide's "identical to
  2016-08" is what is served here.
- s2n-tls (AWS's TLS library, tls/s2n_cipher_preferences.c): the same ELB lists for the legacy policies, and
  the cipher order of the ``RFC9151-INTEROP1..4`` policies (s2n policies 20251113, 20251117, 20251114, 20251115).

Order: the current pages' per-policy lists put ``ECDHE-ECDSA-AES256-SHA`` before ``ECDHE-RSA-AES256-SHA`` in
the non-FIPS tables but after it in the FIPS ones; the older matrix tables, botocore's DescribeSSLPolicies
answer and s2n's ELB lists all put RSA first, so RSA is first everywhere here.

Inferred, not read: the ``-PQ-2025-09`` policies list the ciphers and protocols of their 2021-06/2023-04
namesake (the pages say they add hybrid ML-KEM key exchange: SecP256r1MLKEM768, SecP384r1MLKEM1024,
X25519MLKEM768); ``TLS13-1-2-Ext0-RFC9151-FIPS-2023-07`` adds RFC 9151's RSA key-transport suite
(``AES256-GCM-SHA384``) to the strict TLS13-1-2 RFC 9151 policy.

Every policy supports both ``application`` and ``network`` load balancers: both pages list them, and AWS's own
example uses the NLB-page-only 2015-05 on an ALB. Cipher names are OpenSSL's, which is how DescribeSSLPolicies
spells them; the ``TLS_*`` names are TLS 1.3 suites.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

DEFAULT_POLICY: Final = "ELBSecurityPolicy-2016-08"  # the API's default (the console's is ...-Res-PQ-2025-09)
LOAD_BALANCER_TYPES: Final = ("application", "network")

_TLS13 = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
_TLS13_FIPS = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384")  # ChaCha20 is not a FIPS algorithm
_ECDHE_GCM = (
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
)
_ECDHE_NO_SHA1 = (
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384",
)
_ECDHE_ALL = (
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA",
)
_RSA_NO_SHA1 = ("AES128-GCM-SHA256", "AES128-SHA256", "AES256-GCM-SHA384", "AES256-SHA256")
_RSA_ALL = ("AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA", "AES256-GCM-SHA384", "AES256-SHA256", "AES256-SHA")

# RFC 9151 (CNSA 1.0): AES-256 only; its INTEROP relaxations follow s2n's ELB lists, AES-256 first.
_CNSA_TLS13 = ("TLS_AES_256_GCM_SHA384",)
_CNSA_ECDHE = ("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384")
_INTEROP_TLS13 = ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256")
_INTEROP_GCM = _CNSA_ECDHE + ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256")
_INTEROP_CBC = (
    *_CNSA_ECDHE, "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
)
_INTEROP_SHA1 = (
    *_CNSA_ECDHE, "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
)
_INTEROP_RSA = (
    *_INTEROP_SHA1,
    "AES256-GCM-SHA384", "AES256-SHA256", "AES256-SHA", "AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA",
)

_TLS10_12 = ("TLSv1", "TLSv1.1", "TLSv1.2")
_TLS11_12 = ("TLSv1.1", "TLSv1.2")
_TLS12 = ("TLSv1.2",)
_TLS12_13 = ("TLSv1.2", "TLSv1.3")
_TLS13_ONLY = ("TLSv1.3",)
_TLS11_13 = (*_TLS11_12, "TLSv1.3")
_TLS10_13 = (*_TLS10_12, "TLSv1.3")


@dataclass(frozen=True, slots=True)
class SslPolicy:
    name: str
    protocols: tuple[str, ...]  # AWS's spelling: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3
    ciphers: tuple[str, ...]  # OpenSSL names, highest priority first
    load_balancer_types: tuple[str, ...] = LOAD_BALANCER_TYPES

    @property
    def tls12_ciphers(self) -> str:
        """The OpenSSL cipher string for TLS 1.2 and below (``SSLContext.set_ciphers``)."""
        return ":".join(c for c in self.ciphers if not c.startswith("TLS_"))

    @property
    def tls13_suites(self) -> tuple[str, ...]:
        return tuple(c for c in self.ciphers if c.startswith("TLS_"))

    @property
    def fips(self) -> bool:
        """AWS runs these on its FIPS-validated AWS-LC module; an ALB cannot mix them with non-FIPS ones."""
        return "-FIPS-" in self.name

    @property
    def post_quantum(self) -> bool:
        """Offers hybrid ML-KEM key exchange beside the classical groups (the pages' "PQ in their names")."""
        return self.name.endswith("-PQ-2025-09")

    def to_aws(self) -> dict[str, object]:
        return {
            "Name": self.name,
            "SslProtocols": list(self.protocols),
            "Ciphers": [{"Name": c, "Priority": i} for i, c in enumerate(self.ciphers, start=1)],
            "SupportedLoadBalancerTypes": list(self.load_balancer_types),
        }


def _policies(*policies: SslPolicy) -> MappingProxyType[str, SslPolicy]:
    return MappingProxyType({p.name: p for p in policies})


_P = "ELBSecurityPolicy-"


def _pq_twins(*policies: SslPolicy, dated: str) -> tuple[SslPolicy, ...]:
    """Each policy, then its ``-PQ-2025-09`` twin: the same protocols and ciphers, plus ML-KEM groups."""
    return tuple(q for p in policies for q in (p, SslPolicy(p.name.replace(dated, "PQ-2025-09"), p.protocols, p.ciphers)))


# In the pages' order: TLS policies (TLS 1.3, then the TLS-* ones), FIPS, RFC 9151, FS, then the two legacy
# names the pages no longer tabulate. Policies without a PQ twin: TLS13-1-1-2021-06 and TLS13-1-1-FIPS-2023-04.
SSL_POLICIES: Final = _policies(
    *_pq_twins(
        SslPolicy(f"{_P}TLS13-1-3-2021-06", _TLS13_ONLY, _TLS13),
        SslPolicy(f"{_P}TLS13-1-2-2021-06", _TLS12_13, _TLS13 + _ECDHE_NO_SHA1),
        SslPolicy(f"{_P}TLS13-1-2-Res-2021-06", _TLS12_13, _TLS13 + _ECDHE_GCM),
        SslPolicy(f"{_P}TLS13-1-2-Ext2-2021-06", _TLS12_13, _TLS13 + _ECDHE_ALL + _RSA_ALL),
        SslPolicy(f"{_P}TLS13-1-2-Ext1-2021-06", _TLS12_13, _TLS13 + _ECDHE_NO_SHA1 + _RSA_NO_SHA1),
        dated="2021-06",
    ),
    SslPolicy(f"{_P}TLS13-1-1-2021-06", _TLS11_13, _TLS13 + _ECDHE_ALL + _RSA_ALL),
    *_pq_twins(SslPolicy(f"{_P}TLS13-1-0-2021-06", _TLS10_13, _TLS13 + _ECDHE_ALL + _RSA_ALL), dated="2021-06"),
    SslPolicy(f"{_P}TLS-1-2-Ext-2018-06", _TLS12, _ECDHE_ALL + _RSA_ALL),
    SslPolicy(f"{_P}TLS-1-2-2017-01", _TLS12, _ECDHE_NO_SHA1 + _RSA_NO_SHA1),
    SslPolicy(f"{_P}TLS-1-1-2017-01", _TLS11_12, _ECDHE_ALL + _RSA_ALL),
    SslPolicy(DEFAULT_POLICY, _TLS10_12, _ECDHE_ALL + _RSA_ALL),
    *_pq_twins(
        SslPolicy(f"{_P}TLS13-1-3-FIPS-2023-04", _TLS13_ONLY, _TLS13_FIPS),
        SslPolicy(f"{_P}TLS13-1-2-FIPS-2023-04", _TLS12_13, _TLS13_FIPS + _ECDHE_NO_SHA1),
        SslPolicy(f"{_P}TLS13-1-2-Res-FIPS-2023-04", _TLS12_13, _TLS13_FIPS + _ECDHE_GCM),
        SslPolicy(f"{_P}TLS13-1-2-Ext2-FIPS-2023-04", _TLS12_13, _TLS13_FIPS + _ECDHE_ALL + _RSA_ALL),
        SslPolicy(f"{_P}TLS13-1-2-Ext1-FIPS-2023-04", _TLS12_13, _TLS13_FIPS + _ECDHE_NO_SHA1 + _RSA_NO_SHA1),
        SslPolicy(f"{_P}TLS13-1-2-Ext0-FIPS-2023-04", _TLS12_13, _TLS13_FIPS + _ECDHE_ALL),
        dated="2023-04",
    ),
    SslPolicy(f"{_P}TLS13-1-1-FIPS-2023-04", _TLS11_13, _TLS13_FIPS + _ECDHE_ALL + _RSA_ALL),
    *_pq_twins(SslPolicy(f"{_P}TLS13-1-0-FIPS-2023-04", _TLS10_13, _TLS13_FIPS + _ECDHE_ALL + _RSA_ALL), dated="2023-04"),
    SslPolicy(f"{_P}TLS13-1-3-RFC9151-FIPS-2023-07", _TLS13_ONLY, _CNSA_TLS13),
    SslPolicy(f"{_P}TLS13-1-2-RFC9151-FIPS-2023-07", _TLS12_13, _CNSA_TLS13 + _CNSA_ECDHE),
    SslPolicy(f"{_P}TLS13-1-2-Ext0-RFC9151-FIPS-2023-07", _TLS12_13, _CNSA_TLS13 + _CNSA_ECDHE + ("AES256-GCM-SHA384",)),
    SslPolicy(f"{_P}TLS13-1-2-RFC9151-INTEROP1-FIPS-2023-07", _TLS12_13, _INTEROP_TLS13 + _INTEROP_GCM),
    SslPolicy(f"{_P}TLS13-1-2-RFC9151-INTEROP2-FIPS-2023-07", _TLS12_13, _INTEROP_TLS13 + _INTEROP_CBC),
    SslPolicy(f"{_P}TLS13-1-2-RFC9151-INTEROP3-FIPS-2023-07", _TLS12_13, _INTEROP_TLS13 + _INTEROP_SHA1),
    SslPolicy(f"{_P}TLS13-1-2-RFC9151-INTEROP4-FIPS-2023-07", _TLS12_13, _INTEROP_TLS13 + _INTEROP_RSA),
    SslPolicy(f"{_P}FS-1-2-Res-2020-10", _TLS12, _ECDHE_GCM),
    SslPolicy(f"{_P}FS-1-2-Res-2019-08", _TLS12, _ECDHE_NO_SHA1),
    SslPolicy(f"{_P}FS-1-2-2019-08", _TLS12, _ECDHE_ALL),
    SslPolicy(f"{_P}FS-1-1-2019-08", _TLS11_12, _ECDHE_ALL),
    SslPolicy(f"{_P}FS-2018-06", _TLS10_12, _ECDHE_ALL),
    SslPolicy(f"{_P}2015-05", _TLS10_12, _ECDHE_ALL + _RSA_ALL),
    SslPolicy(f"{_P}TLS-1-0-2015-04", _TLS10_12, _ECDHE_ALL + _RSA_ALL + ("DES-CBC3-SHA",)),
)
