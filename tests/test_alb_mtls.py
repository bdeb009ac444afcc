"""mTLS on HTTPS listeners (AWS "Mutual authentication with TLS in Application Load Balancer"): passthrough and verify modes against a trust store whose CA bundle
and CRL were uploaded to the emulator's S3, with real client certificates (trustme), plus the TLS-info headers."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import boto3
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from tests.alb_support import address, alb, forward, listener, listener_url, target_group
from tests.alb_tls_support import https_request, import_certificate
from tests.backends import HttpEcho
from tests.conftest import REGION

BUCKET = "mtls-material"


@pytest.fixture(scope="module")
def server_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def client_ca() -> trustme.CA:
    return trustme.CA(organization_name="Client CA")


@pytest.fixture
def s3(emulator_url: str):
    client = boto3.client("s3", endpoint_url=emulator_url, region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


def _trust_store(elbv2, s3, ca: trustme.CA) -> str:
    s3.put_object(Bucket=BUCKET, Key="bundle.pem", Body=ca.cert_pem.bytes())
    return elbv2.create_trust_store(Name="clients", CaCertificatesBundleS3Bucket=BUCKET,
                                    CaCertificatesBundleS3Key="bundle.pem")["TrustStores"][0]["TrustStoreArn"]


def _revoke(elbv2, s3, store: str, ca: trustme.CA, serial: int) -> None:
    """A CRL signed by the client CA listing ``serial``, added to the trust store through S3."""
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    now = datetime.now(UTC)
    revoked = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
    crl = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject).last_update(now)
           .next_update(now + timedelta(days=1)).add_revoked_certificate(revoked).sign(key, hashes.SHA256()))
    s3.put_object(Bucket=BUCKET, Key="crl.pem", Body=crl.public_bytes(serialization.Encoding.PEM))
    elbv2.add_trust_store_revocations(TrustStoreArn=store, RevocationContents=[
        {"S3Bucket": BUCKET, "S3Key": "crl.pem", "RevocationType": "CRL"}])


def _https_listener(elbv2, acm, subnets, vpc_id, backend, ca, mutual: dict, lb_attributes=None, **extra) -> str:
    lb = alb(elbv2, subnets, attributes=lb_attributes)
    return listener(elbv2, lb, forward(target_group(elbv2, vpc_id, "tg", [backend])), protocol="HTTPS",
                    Certificates=[{"CertificateArn": import_certificate(acm, ca)}], MutualAuthentication=mutual,
                    **extra)


def test_passthrough_sends_the_client_chain_unverified(elbv2, acm, subnets, vpc_id, emulator_url, server_ca):
    stranger = trustme.CA(organization_name="Nobody trusts me")  # no trust store anywhere knows this CA
    client = stranger.issue_cert("client@example.com")
    with HttpEcho() as backend:
        arn = _https_listener(elbv2, acm, subnets, vpc_id, backend, server_ca, {"Mode": "passthrough"})
        addr = address(listener_url(emulator_url, arn))
        response = https_request(addr, server_ca, client=client,
                                 headers={"X-Amzn-Mtls-Clientcert-Subject": "CN=forged"})
        assert response.status == 200
        echoed = response.echoed()
        sent = echoed["x-amzn-mtls-clientcert"]
        assert sent.startswith("-----BEGIN%20CERTIFICATE-----%0A") and "%0A-----END%20CERTIFICATE-----%0A" in sent
        assert " " not in sent and "\n" not in sent
        chain = x509.load_pem_x509_certificates(unquote(sent).encode())
        leaf = x509.load_pem_x509_certificate(client.cert_chain_pems[0].bytes())
        assert chain[0] == leaf  # leaf first
        assert "x-amzn-mtls-clientcert-subject" not in echoed  # forged by the client: dropped
        # A client without a certificate is still served in passthrough mode, with no header.
        bare = https_request(addr, server_ca)
        assert bare.status == 200 and "x-amzn-mtls-clientcert" not in bare.echoed()


def test_verify_mode_headers_revocation_and_renamed_header(elbv2, acm, subnets, vpc_id, emulator_url, server_ca,
                                                          client_ca, s3):
    store = _trust_store(elbv2, s3, client_ca)
    good = client_ca.issue_cert("alice@example.com", common_name="alice")
    revoked = client_ca.issue_cert("mallory@example.com", common_name="mallory")
    with HttpEcho() as backend:
        arn = _https_listener(elbv2, acm, subnets, vpc_id, backend, server_ca,
                              {"Mode": "verify", "TrustStoreArn": store})
        addr = address(listener_url(emulator_url, arn))
        echoed = https_request(addr, server_ca, client=good).echoed()
        leaf = x509.load_pem_x509_certificate(good.cert_chain_pems[0].bytes())
        serial = format(leaf.serial_number, "X")
        assert echoed["x-amzn-mtls-clientcert-serial-number"] == serial.zfill(len(serial) + len(serial) % 2)
        assert echoed["x-amzn-mtls-clientcert-subject"] == leaf.subject.rfc4514_string()
        assert echoed["x-amzn-mtls-clientcert-subject"].startswith("CN=alice,OU=")  # RFC 2253 order: CN first
        assert echoed["x-amzn-mtls-clientcert-issuer"] == leaf.issuer.rfc4514_string()
        assert echoed["x-amzn-mtls-clientcert-validity"] == (
            f"NotBefore={leaf.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ};"
            f"NotAfter={leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}")
        assert x509.load_pem_x509_certificate(unquote(echoed["x-amzn-mtls-clientcert-leaf"]).encode()) == leaf
        assert "x-amzn-mtls-clientcert" not in echoed

        with pytest.raises((ssl.SSLError, ConnectionError)):  # no client certificate: handshake refused
            https_request(addr, server_ca)
        with pytest.raises((ssl.SSLError, ConnectionError)):  # a certificate from an unknown CA
            https_request(addr, server_ca, client=trustme.CA().issue_cert("eve@example.com"))

        elbv2.modify_listener_attributes(ListenerArn=arn, Attributes=[
            {"Key": "routing.http.request.x_amzn_mtls_clientcert_subject.header_name", "Value": "X-Client-Subject"}])
        _revoke(elbv2, s3, store, client_ca, x509.load_pem_x509_certificate(
            revoked.cert_chain_pems[0].bytes()).serial_number)
        renamed = https_request(addr, server_ca, client=good).echoed()
        assert renamed["x-client-subject"].startswith("CN=alice,") and "x-amzn-mtls-clientcert-subject" not in renamed
        with pytest.raises((ssl.SSLError, ConnectionError)):  # on the trust store's CRL: refused
            https_request(addr, server_ca, client=revoked)


def test_verify_ignores_expiry_only_when_asked(elbv2, acm, subnets, vpc_id, emulator_url, server_ca, client_ca, s3):
    store = _trust_store(elbv2, s3, client_ca)
    long_ago = datetime.now(UTC) - timedelta(days=30)
    expired = client_ca.issue_cert("old@example.com", not_before=long_ago, not_after=long_ago + timedelta(days=1))
    with HttpEcho() as backend:
        arn = _https_listener(elbv2, acm, subnets, vpc_id, backend, server_ca,
                              {"Mode": "verify", "TrustStoreArn": store})
        addr = address(listener_url(emulator_url, arn))
        with pytest.raises((ssl.SSLError, ConnectionError)):
            https_request(addr, server_ca, client=expired)
        elbv2.modify_listener(ListenerArn=arn, MutualAuthentication={
            "Mode": "verify", "TrustStoreArn": store, "IgnoreClientCertificateExpiry": True})
        assert https_request(addr, server_ca, client=expired).status == 200


def test_tls_version_and_cipher_headers(elbv2, acm, subnets, vpc_id, emulator_url, server_ca):
    with HttpEcho() as backend:
        arn = _https_listener(elbv2, acm, subnets, vpc_id, backend, server_ca, {"Mode": "off"},
                              {"routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "true"},
                              SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06")  # (2016-08 has no TLS 1.3)
        addr = address(listener_url(emulator_url, arn))
        echoed = https_request(addr, server_ca, headers={"X-Amzn-Tls-Version": "SSLv2"}).echoed()
        assert echoed["x-amzn-tls-version"] == "TLSv1.3"
        assert echoed["x-amzn-tls-cipher-suite"] in ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                                     "TLS_CHACHA20_POLY1305_SHA256")
