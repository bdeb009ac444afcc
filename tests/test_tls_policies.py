"""Security policies on the wire: an ALB HTTPS listener and an NLB TLS listener negotiate exactly the protocol
versions and ciphers that DescribeSSLPolicies lists for their SslPolicy ("Security policies for your
Application Load Balancer", and the NLB guide's page of the same name). Both run the same TLS termination."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import warnings

import pytest
import trustme

from api_models.ssl_policies import SSL_POLICIES
from tests import alb_support, nlb_support
from tests.alb_tls_support import import_certificate
from tests.backends import HttpEcho, TcpEcho

# Cipher offers that work with either key type. SHA-1 MACs: in ELBSecurityPolicy-2016-08 only. CBC with
# SHA-256: in TLS13-1-2-2021-06, not in TLS13-1-2-Res-2021-06 (and in Python's own default list, so only the
# policy can refuse them). GCM: in all three.
SHA1_CIPHERS = "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"
CBC_CIPHERS = "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256"
GCM_CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
# In Python's default client list and no AWS policy: only the policy's own list can refuse it.
CHACHA_CIPHERS = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
# trustme's certificates are ECDSA (P-256), so of a policy's TLS 1.2 ciphers the ECDSA ones can be negotiated.
ALL_CIPHERS = "ALL"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _handshake(addr: tuple[str, int], ca: trustme.CA, version: ssl.TLSVersion, ciphers: str | None = None) -> tuple:
    """(negotiated version, cipher name), or ssl.SSLError when the listener refuses the offer."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.check_hostname = False
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated in Python, and offered here on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    if ciphers or version < ssl.TLSVersion.TLSv1_2:
        context.set_ciphers((ciphers or "DEFAULT") + ":@SECLEVEL=0")
    with socket.create_connection(addr, timeout=5) as raw, context.wrap_socket(raw, server_hostname="app.example.com") as tls:
        return tls.version(), tls.cipher()[0]


@pytest.fixture(params=["alb-https", "nlb-tls"])
def secure_listener(request, elbv2, acm, subnets, vpc_id, emulator_url, ca):
    """A function (policy name) -> the address of a listener of that kind with that SslPolicy."""
    cert = [{"CertificateArn": import_certificate(acm, ca)}]
    if request.param == "alb-https":
        backend = request.getfixturevalue("_http_backend")
        lb = alb_support.alb(elbv2, subnets)
        tg = alb_support.target_group(elbv2, vpc_id, "tg", [backend])

        def make(policy: str) -> tuple[str, int]:
            make.arn = alb_support.listener(elbv2, lb, alb_support.forward(tg), protocol="HTTPS", Certificates=cert,
                                            SslPolicy=policy)
            return alb_support.address(alb_support.listener_url(emulator_url, make.arn))
    else:
        echo = request.getfixturevalue("_tcp_backend")
        lb = nlb_support.nlb(elbv2, subnets)
        tg = nlb_support.target_group(elbv2, vpc_id, "tg", ports=[echo.port])
        ports = iter(range(7443, 7460))

        def make(policy: str) -> tuple[str, int]:
            make.arn = nlb_support.listener(elbv2, lb, tg, protocol="TLS", port=next(ports), Certificates=cert,
                                            SslPolicy=policy)
            return nlb_support.listener_address(emulator_url, make.arn)
    return make


@pytest.fixture
def _http_backend():
    with HttpEcho() as backend:
        yield backend


@pytest.fixture
def _tcp_backend():
    with TcpEcho() as backend:
        yield backend


def test_tls13_1_2_policy_refuses_tls11_and_ciphers_it_does_not_list(secure_listener, ca):
    addr = secure_listener("ELBSecurityPolicy-TLS13-1-2-2021-06")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, GCM_CIPHERS)[0] == "TLSv1.2"
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, CBC_CIPHERS)[0] == "TLSv1.2"
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, SHA1_CIPHERS)
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_1)


def test_restricted_policy_refuses_cbc_ciphers(secure_listener, ca):
    addr = secure_listener("ELBSecurityPolicy-TLS13-1-2-Res-2021-06")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, GCM_CIPHERS)[0] == "TLSv1.2"
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, CBC_CIPHERS)


def test_tls13_1_3_policy_refuses_tls12(secure_listener, ca):
    addr = secure_listener("ELBSecurityPolicy-TLS13-1-3-2021-06")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_2)


def test_legacy_2016_08_policy_offers_what_it_lists_and_no_tls13(secure_listener, ca):
    addr = secure_listener("ELBSecurityPolicy-2016-08")
    version, cipher = _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, SHA1_CIPHERS)
    assert version == "TLSv1.2" and cipher in SHA1_CIPHERS.split(":")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1)[0] == "TLSv1"
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_3)


def test_a_modified_policy_applies_to_the_next_handshake(secure_listener, ca, elbv2):
    """ModifyListener answers once the new policy is live; the listening socket stays where it was."""
    addr = secure_listener("ELBSecurityPolicy-2016-08")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_2)[0] == "TLSv1.2"
    elbv2.modify_listener(ListenerArn=secure_listener.arn, SslPolicy="ELBSecurityPolicy-TLS13-1-3-2021-06")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_2)


def _s_client(addr: tuple[str, int], *options: str) -> str | None:
    """The cipher ``openssl s_client`` negotiates with these options, or None when the listener refuses it. A
    second, independent client: Python's ``ssl`` cannot limit the TLS 1.3 suites it offers."""
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"{addr[0]}:{addr[1]}", "-servername", "app.example.com", *options],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
    )
    found = re.search(r"^New, \S+, Cipher is (\S+)$", done.stdout, re.MULTILINE)
    return None if found is None or found.group(1) == "(NONE)" else found.group(1)


def test_2015_05_is_2016_08_tls10_to_12_in_the_servers_order(secure_listener, ca):
    """Python's client lists AES-256 first; the listener picks by its own priority (AWS's list: AES-128 GCM)."""
    addr = secure_listener("ELBSecurityPolicy-2015-05")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, ALL_CIPHERS) == ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1, SHA1_CIPHERS)[0] == "TLSv1"
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, CHACHA_CIPHERS)
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_3)


def test_tls_1_0_2015_04_offers_tls10_and_its_sha1_ciphers_but_no_tls13(secure_listener, ca):
    """Its extra DES-CBC3-SHA is not in this OpenSSL build (neither side can offer it: see local_gaps)."""
    addr = secure_listener("ELBSecurityPolicy-TLS-1-0-2015-04")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1, "ECDHE-ECDSA-AES256-SHA") == ("TLSv1", "ECDHE-ECDSA-AES256-SHA")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_1, SHA1_CIPHERS)[0] == "TLSv1.1"
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_3)
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, CHACHA_CIPHERS)


def test_fs_1_2_res_2020_10_is_tls12_gcm_only(secure_listener, ca):
    addr = secure_listener("ELBSecurityPolicy-FS-1-2-Res-2020-10")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, ALL_CIPHERS) == ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")
    for refused in (CBC_CIPHERS, SHA1_CIPHERS):
        with pytest.raises(ssl.SSLError):
            _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, refused)
    for version in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_3):
        with pytest.raises(ssl.SSLError):
            _handshake(addr, ca, version)


def test_fips_policy_offers_no_chacha20_under_tls13(secure_listener, ca):
    """TLS13-1-2-FIPS-2023-04 lists the two AES-GCM TLS 1.3 suites only (the default provider serves them)."""
    addr = secure_listener("ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04")
    assert _s_client(addr, "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384") == "TLS_AES_256_GCM_SHA384"
    assert _s_client(addr, "-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256") is None
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, CBC_CIPHERS)[0] == "TLSv1.2"
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, SHA1_CIPHERS)


def test_tls13_1_3_policy_offers_chacha20_and_prefers_aes128(secure_listener, ca):
    addr = secure_listener("ELBSecurityPolicy-TLS13-1-3-2021-06")
    assert _s_client(addr, "-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256") == "TLS_CHACHA20_POLY1305_SHA256"
    # Python's client offers AES-256 first; AWS's priority 1 is AES-128.
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_3) == ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, GCM_CIPHERS)


def test_rfc9151_policy_is_aes256_only(secure_listener, ca):
    addr = secure_listener("ELBSecurityPolicy-TLS13-1-2-RFC9151-FIPS-2023-07")
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_3) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384")
    assert _s_client(addr, "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384") == "TLS_AES_256_GCM_SHA384"
    assert _s_client(addr, "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256") is None
    assert _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, ALL_CIPHERS) == ("TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384")
    with pytest.raises(ssl.SSLError):
        _handshake(addr, ca, ssl.TLSVersion.TLSv1_2, GCM_CIPHERS)


def _full_offer(addr: tuple[str, int], ca: trustme.CA) -> tuple[str, str]:
    """A client offering every version and cipher this OpenSSL has: the listener chooses both."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.check_hostname = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version, context.maximum_version = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_3
    context.set_ciphers("ALL:@SECLEVEL=0")
    with socket.create_connection(addr, timeout=5) as raw, context.wrap_socket(raw, server_hostname="app.example.com") as tls:
        return tls.version(), tls.cipher()[0]


def test_every_policy_negotiates_its_highest_version_and_first_usable_cipher(elbv2, acm, subnets, vpc_id, emulator_url,
                                                                              ca, _http_backend):
    """One ALB HTTPS listener walked through every policy with ModifyListener: its top protocol, and its
    priority-1 cipher for that protocol (the first ECDSA one under TLS 1.2: the certificate is ECDSA)."""
    lb = alb_support.alb(elbv2, subnets)
    tg = alb_support.target_group(elbv2, vpc_id, "tg", [_http_backend])
    arn = alb_support.listener(elbv2, lb, alb_support.forward(tg), protocol="HTTPS", SslPolicy="ELBSecurityPolicy-2016-08",
                               Certificates=[{"CertificateArn": import_certificate(acm, ca)}])
    addr = alb_support.address(alb_support.listener_url(emulator_url, arn))
    for name, policy in SSL_POLICIES.items():
        elbv2.modify_listener(ListenerArn=arn, SslPolicy=name)
        top = policy.protocols[-1]
        usable = "TLS_" if top == "TLSv1.3" else "ECDHE-ECDSA-"
        first = next(c for c in policy.ciphers if c.startswith(usable))
        assert _full_offer(addr, ca) == (top, first), name
