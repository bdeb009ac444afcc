"""AWS's predefined TLS security policies: protocol versions and ciphers, in AWS's priority order.

Source: "Security policies for your Application Load Balancer" and "... for your Network Load Balancer"
(docs.aws.amazon.com/elasticloadbalancing/latest/{application,network}/describe-ssl-policies.html).
Cipher names are OpenSSL's, which is also how DescribeSSLPolicies spells them, so the data plane can
hand them straight to ``ssl.SSLContext.set_ciphers`` (TLS 1.2 and below) while the ``TLS_*`` names are
TLS 1.3 suites. The ``-PQ-2025-09`` policies add post-quantum hybrid key exchange (ML-KEM) to their
2021-06 counterpart; their protocols and ciphers are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

DEFAULT_POLICY: Final = "ELBSecurityPolicy-2016-08"  # the API's default (the console's is ...-Res-PQ-2025-09)

_TLS13 = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
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

_TLS10_12 = ("TLSv1", "TLSv1.1", "TLSv1.2")
_TLS11_12 = ("TLSv1.1", "TLSv1.2")
_TLS12 = ("TLSv1.2",)
_TLS12_13 = ("TLSv1.2", "TLSv1.3")


@dataclass(frozen=True, slots=True)
class SslPolicy:
    name: str
    protocols: tuple[str, ...]  # AWS's spelling: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3
    ciphers: tuple[str, ...]  # OpenSSL names, highest priority first
    load_balancer_types: tuple[str, ...] = ("application", "network")

    @property
    def tls12_ciphers(self) -> str:
        """The OpenSSL cipher string for TLS 1.2 and below (``SSLContext.set_ciphers``)."""
        return ":".join(c for c in self.ciphers if not c.startswith("TLS_"))

    @property
    def tls13_suites(self) -> tuple[str, ...]:
        return tuple(c for c in self.ciphers if c.startswith("TLS_"))

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

SSL_POLICIES: Final = _policies(
    SslPolicy(f"{_P}TLS13-1-2-Res-PQ-2025-09", _TLS12_13, _TLS13 + _ECDHE_GCM),
    SslPolicy(f"{_P}TLS13-1-2-PQ-2025-09", _TLS12_13, _TLS13 + _ECDHE_NO_SHA1),
    SslPolicy(f"{_P}TLS13-1-2-Ext1-PQ-2025-09", _TLS12_13, _TLS13 + _ECDHE_NO_SHA1 + _RSA_NO_SHA1),
    SslPolicy(f"{_P}TLS13-1-2-Ext2-PQ-2025-09", _TLS12_13, _TLS13 + _ECDHE_ALL + _RSA_ALL),
    SslPolicy(f"{_P}TLS13-1-3-PQ-2025-09", ("TLSv1.3",), _TLS13),
    SslPolicy(f"{_P}TLS13-1-0-PQ-2025-09", (*_TLS10_12, "TLSv1.3"), _TLS13 + _ECDHE_ALL + _RSA_ALL),
    SslPolicy(f"{_P}TLS13-1-2-Res-2021-06", _TLS12_13, _TLS13 + _ECDHE_GCM),
    SslPolicy(f"{_P}TLS13-1-2-2021-06", _TLS12_13, _TLS13 + _ECDHE_NO_SHA1),
    SslPolicy(f"{_P}TLS13-1-2-Ext1-2021-06", _TLS12_13, _TLS13 + _ECDHE_NO_SHA1 + _RSA_NO_SHA1),
    SslPolicy(f"{_P}TLS13-1-2-Ext2-2021-06", _TLS12_13, _TLS13 + _ECDHE_ALL + _RSA_ALL),
    SslPolicy(f"{_P}TLS13-1-3-2021-06", ("TLSv1.3",), _TLS13),
    SslPolicy(f"{_P}TLS13-1-1-2021-06", (*_TLS11_12, "TLSv1.3"), _TLS13 + _ECDHE_ALL + _RSA_ALL),
    SslPolicy(f"{_P}TLS13-1-0-2021-06", (*_TLS10_12, "TLSv1.3"), _TLS13 + _ECDHE_ALL + _RSA_ALL),
    SslPolicy(f"{_P}FS-1-2-Res-2020-10", _TLS12, _ECDHE_GCM),
    SslPolicy(f"{_P}FS-1-2-Res-2019-08", _TLS12, _ECDHE_NO_SHA1),
    SslPolicy(f"{_P}FS-1-2-2019-08", _TLS12, _ECDHE_ALL),
    SslPolicy(f"{_P}FS-1-1-2019-08", _TLS11_12, _ECDHE_ALL),
    SslPolicy(f"{_P}FS-2018-06", _TLS10_12, _ECDHE_ALL),
    SslPolicy(f"{_P}TLS-1-2-Ext-2018-06", _TLS12, _ECDHE_ALL + _RSA_ALL),
    SslPolicy(f"{_P}TLS-1-2-2017-01", _TLS12, _ECDHE_NO_SHA1 + _RSA_NO_SHA1),
    SslPolicy(f"{_P}TLS-1-1-2017-01", _TLS11_12, _ECDHE_ALL + _RSA_ALL),
    SslPolicy(DEFAULT_POLICY, _TLS10_12, _ECDHE_ALL + _RSA_ALL),
    SslPolicy(f"{_P}TLS-1-0-2015-04", _TLS10_12, _ECDHE_ALL + _RSA_ALL + ("DES-CBC3-SHA",)),
)
