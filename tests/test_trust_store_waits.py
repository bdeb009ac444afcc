"""Trust-store writes answer only once the data plane applies them: an mTLS ``verify`` listener checks client
certificates against its trust store's CA bundle and revocation lists, so right after ModifyTrustStore,
AddTrustStoreRevocations or RemoveTrustStoreRevocations returns, the very next TLS connection already sees the
change (no waiting or polling here on purpose). Which writes wait follows from what the data plane declares
it reads (``emulator.dataplane.reads.READS``).

Each write is made while the data plane is busy applying another client's change (a new target whose first
health check takes a while to answer): the write's answer must still wait for its own change, not merely
for the data plane to be idle, and a connection made in between must not see the old trust store.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from tests.alb_support import address, alb, forward, listener, listener_url, target_group
from tests.alb_tls_support import https_request, import_certificate
from tests.backends import HttpEcho, ThreadedTcpBackend
from tests.conftest import REGION

BUCKET = "trust-store-waits"
HOLD = 0.5  # seconds the slow health endpoint takes to answer a check


@pytest.fixture(scope="module")
def server_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def s3(emulator_url: str):
    client = boto3.client("s3", endpoint_url=emulator_url, region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


class SlowHealth(ThreadedTcpBackend):
    """A health-check endpoint that answers 200 only after ``HOLD`` seconds; ``checking`` is set on each check."""

    def __init__(self) -> None:
        self.checking = threading.Event()
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            self.checking.set()
            threading.Event().wait(HOLD)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@pytest.fixture
def slow_health() -> Iterator[SlowHealth]:
    backend = SlowHealth()
    yield backend
    backend.close()


def _crl(ca: trustme.CA, serial: int) -> bytes:
    """A CRL signed by ``ca`` revoking ``serial``."""
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    now = datetime.now(UTC)
    revoked = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
    builder = x509.CertificateRevocationListBuilder(issuer_name=issuer.subject, last_update=now,
                                                    next_update=now + timedelta(days=1), revoked_certificates=[revoked])
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _serial(cert: trustme.LeafCert) -> int:
    return x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()).serial_number


def _accepted(addr: tuple[str, int], server_ca: trustme.CA, client: trustme.LeafCert) -> bool:
    try:
        return https_request(addr, server_ca, client=client).status == 200
    except (ssl.SSLError, ConnectionError):
        return False


def test_trust_store_writes_are_live_when_they_answer(elbv2, acm, subnets, vpc_id, emulator_url, server_ca, s3,
                                                      slow_health):
    old_ca, new_ca = trustme.CA(organization_name="Old client CA"), trustme.CA(organization_name="New client CA")
    alice, bob = old_ca.issue_cert("alice@example.com"), new_ca.issue_cert("bob@example.com")
    s3.put_object(Bucket=BUCKET, Key="old.pem", Body=old_ca.cert_pem.bytes())
    s3.put_object(Bucket=BUCKET, Key="new.pem", Body=new_ca.cert_pem.bytes())
    s3.put_object(Bucket=BUCKET, Key="alice.crl", Body=_crl(old_ca, _serial(alice)))
    store = elbv2.create_trust_store(Name="clients", CaCertificatesBundleS3Bucket=BUCKET,
                                     CaCertificatesBundleS3Key="old.pem")["TrustStores"][0]["TrustStoreArn"]
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets)
        arn = listener(elbv2, lb, forward(target_group(elbv2, vpc_id, "tg", [backend])), protocol="HTTPS",
                       Certificates=[{"CertificateArn": import_certificate(acm, server_ca)}],
                       MutualAuthentication={"Mode": "verify", "TrustStoreArn": store})
        addr = address(listener_url(emulator_url, arn))
        # Another client's target group, in use, whose new targets' first health checks take HOLD seconds.
        slow = target_group(elbv2, vpc_id, "slow", health=slow_health, HealthCheckIntervalSeconds=300,
                            HealthCheckTimeoutSeconds=120)
        listener(elbv2, lb, forward(slow))
        assert _accepted(addr, server_ca, alice) and not _accepted(addr, server_ca, bob)
        ports = iter(range(20000, 20100))

        @contextmanager
        def data_plane_busy() -> Iterator[None]:
            """While the block runs, the data plane awaits a new target's first health check."""
            slow_health.checking.clear()
            other = boto3.client("elbv2", endpoint_url=emulator_url, region_name=REGION)
            registering = threading.Thread(target=other.register_targets, kwargs={
                "TargetGroupArn": slow, "Targets": [{"Id": backend.host, "Port": next(ports)}]})
            registering.start()
            try:
                assert slow_health.checking.wait(5)
                yield
            finally:
                registering.join(10)

        with data_plane_busy():
            added = elbv2.add_trust_store_revocations(TrustStoreArn=store, RevocationContents=[
                {"S3Bucket": BUCKET, "S3Key": "alice.crl", "RevocationType": "CRL"}])
            assert not _accepted(addr, server_ca, alice)  # on the CRL: refused at once

        revocation = added["TrustStoreRevocations"][0]["RevocationId"]
        with data_plane_busy():
            elbv2.remove_trust_store_revocations(TrustStoreArn=store, RevocationIds=[revocation])
            assert _accepted(addr, server_ca, alice)  # off the CRL again: admitted at once

        with data_plane_busy():
            elbv2.modify_trust_store(TrustStoreArn=store, CaCertificatesBundleS3Bucket=BUCKET,
                                     CaCertificatesBundleS3Key="new.pem")
            assert _accepted(addr, server_ca, bob)  # the new CA's client: admitted at once
            assert not _accepted(addr, server_ca, alice)  # the old CA is no longer trusted
