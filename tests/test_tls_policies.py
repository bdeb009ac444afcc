"""Security policies on the wire: an ALB HTTPS listener and an NLB TLS listener negotiate exactly the protocol
versions and ciphers that DescribeSSLPolicies lists for their SslPolicy ("Security policies for your
Application Load Balancer", and the NLB guide's page of the same name). Both run the same TLS termination."""

from __future__ import annotations

import socket
import ssl
import warnings

import pytest
import trustme

from tests import alb_support, nlb_support
from tests.alb_tls_support import import_certificate
from tests.backends import HttpEcho, TcpEcho

# Cipher offers that work with either key type. SHA-1 MACs: in ELBSecurityPolicy-2016-08 only. CBC with
# SHA-256: in TLS13-1-2-2021-06, not in TLS13-1-2-Res-2021-06 (and in Python's own default list, so only the
# policy can refuse them). GCM: in all three.
SHA1_CIPHERS = "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"
CBC_CIPHERS = "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256"
GCM_CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"


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
