"""ALB connection logs, ALB health check logs and NLB access logs in S3, in AWS's formats and object keys.

"Connection logs for your Application Load Balancer", "Health check logs for your Application Load
Balancer" (ALB user guide), "Access logs for your Network Load Balancer" (NLB user guide: written for TLS
listeners only). Connection and NLB lines are parsed with the Athena user guide's regexes.
"""

from __future__ import annotations

import re
import socket
import ssl
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from tests.alb_support import address, alb, forward, free_port, listener, listener_url, target_group
from tests.alb_tls_support import https_request, import_certificate
from tests.backends import HttpEcho, TcpEcho
from tests.conftest import REGION
from tests.nlb_support import listener as nlb_listener
from tests.nlb_support import listener_address, nlb
from tests.nlb_support import target_group as nlb_target_group
from tests.s3_logs_support import (
    ALB_ACCESS_LOG_COLUMNS,
    ALB_ACCESS_LOG_REGEX,
    ALB_CONNECTION_LOG_COLUMNS,
    ALB_CONNECTION_LOG_REGEX,
    ISO_MICROSECONDS,
    NLB_ACCESS_LOG_COLUMNS,
    NLB_ACCESS_LOG_REGEX,
    delivered,
    key_pattern,
    parse,
)

HEALTH_CHECK_ENTRY = re.compile(
    r"(?P<type>[a-z]+) (?P<time>\S+) (?P<latency>-1|\d+\.\d{3}) (?P<target>[\d.]+:\d+) (?P<target_group_id>[0-9a-f]+) "
    r"(?P<status>PASS|FAIL) (?P<status_code>-|\d{3}) (?P<reason_code>\S+)"
)


@pytest.fixture
def s3(emulator_url: str):
    return boto3.client("s3", endpoint_url=emulator_url, region_name=REGION)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _logging(kind: str, bucket: str, prefix: str) -> dict[str, str]:
    return {f"{kind}.s3.enabled": "true", f"{kind}.s3.bucket": bucket, f"{kind}.s3.prefix": prefix}


def test_https_connections_are_delivered_as_connection_log_entries(
        emulator_server, emulator_url, elbv2, acm, s3, subnets, ca):
    s3.create_bucket(Bucket="conn-logs")
    lb = alb(elbv2, subnets, "tls-logged", attributes={
        **_logging("connection_logs", "conn-logs", "conn"), **_logging("access_logs", "conn-logs", "access")})
    port = free_port()
    arn = listener(elbv2, lb, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "204"}}], port=port,
                   protocol="HTTPS", Certificates=[{"CertificateArn": import_certificate(acm, ca)}])
    assert https_request(address(listener_url(emulator_url, arn)), ca).status == 204

    keys, lines = delivered(emulator_server, s3, "conn-logs", key_pattern(lb, "conn", file_prefix="conn_log."))
    assert len(lines) == 1  # the establishment only: AWS's entry describes it, not the close
    entry = parse(ALB_CONNECTION_LOG_REGEX, ALB_CONNECTION_LOG_COLUMNS, lines[0])
    assert ISO_MICROSECONDS.fullmatch(entry["time"])
    assert entry["client_ip"] == "127.0.0.1" and int(entry["client_port"]) > 0
    assert entry["listener_port"] == str(port)
    assert entry["tls_protocol"].startswith("TLSv1.")
    assert entry["tls_cipher"] not in ("", "-")
    assert float(entry["tls_handshake_latency"]) >= 0
    assert entry["leaf_client_cert_subject"] == "-"  # no mTLS on this listener
    assert entry["conn_trace_id"].startswith("TID_")

    _, access = delivered(emulator_server, s3, "conn-logs", key_pattern(lb, "access"))
    request = parse(ALB_ACCESS_LOG_REGEX, ALB_ACCESS_LOG_COLUMNS, access[0])
    assert request["type"] == "https"
    assert (request["ssl_protocol"], request["ssl_cipher"]) == (entry["tls_protocol"], entry["tls_cipher"])
    assert request["domain_name"] == "app.example.com"
    assert request["conn_trace_id"] == entry["conn_trace_id"]  # the request and its connection, joined


def test_health_checks_are_delivered_as_health_check_log_entries(emulator_server, elbv2, s3, subnets, vpc_id):
    s3.create_bucket(Bucket="health-logs")
    lb = alb(elbv2, subnets, "health-logged", attributes=_logging("health_check_logs", "health-logs", "hc"))
    closed_port = free_port()  # nothing listens there: its checks fail
    with HttpEcho() as backend:
        tg = target_group(elbv2, vpc_id, "checked", [backend])
        listener(elbv2, lb, forward(tg))
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": closed_port}])

        def both_verdicts(lines: list[str]) -> bool:
            return any(" PASS " in line for line in lines) and any(" FAIL " in line for line in lines)

        _, lines = delivered(emulator_server, s3, "health-logs",
                             key_pattern(lb, "hc", file_prefix="health_check_log_"), until=both_verdicts)

    entries = [match.groupdict() for match in map(HEALTH_CHECK_ENTRY.fullmatch, lines) if match]
    assert len(entries) == len(lines), lines  # every line in the format
    passed = next(e for e in entries if e["status"] == "PASS")
    failed = next(e for e in entries if e["status"] == "FAIL")
    assert passed["type"] == "http" and ISO_MICROSECONDS.fullmatch(passed["time"])
    assert passed["target"] == f"{backend.host}:{backend.port}"
    assert passed["target_group_id"] == tg.rsplit("/", 1)[1]
    assert (passed["status_code"], passed["reason_code"]) == ("200", "-")
    assert failed["target"] == f"127.0.0.1:{closed_port}"
    assert failed["reason_code"].startswith(("Target.", "Elb."))


def test_nlb_tls_flows_are_delivered_as_nlb_access_log_entries(
        emulator_server, emulator_url, elbv2, acm, s3, subnets, vpc_id, ca):
    s3.create_bucket(Bucket="nlb-logs")
    lb = nlb(elbv2, subnets, "nlb-logged")
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
        {"Key": k, "Value": v} for k, v in _logging("access_logs", "nlb-logs", "nlb").items()])
    with TcpEcho(b"echo:") as echo:
        tls_tg = nlb_target_group(elbv2, vpc_id, "tls-echo", ports=[echo.port])
        tcp_tg = nlb_target_group(elbv2, vpc_id, "tcp-echo", ports=[echo.port])
        tls_arn = nlb_listener(elbv2, lb, tls_tg, protocol="TLS", port=free_port(),
                               Certificates=[{"CertificateArn": import_certificate(acm, ca, "nlb.example.com")}])
        tcp_arn = nlb_listener(elbv2, lb, tcp_tg, port=free_port())
        context = ssl.create_default_context()
        ca.configure_trust(context)
        with socket.create_connection(listener_address(emulator_url, tls_arn), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="nlb.example.com") as tls:
            tls.sendall(b"hello")
            assert tls.recv(1024).startswith(b"echo:")
        with socket.create_connection(listener_address(emulator_url, tcp_arn), timeout=5) as plain:
            plain.sendall(b"not logged")
            assert plain.recv(1024).startswith(b"echo:")

        _, lines = delivered(emulator_server, s3, "nlb-logs", key_pattern(lb, "nlb", with_address=False))

    assert len(lines) == 1  # the TLS flow; AWS writes no entry for TCP listeners
    entry = parse(NLB_ACCESS_LOG_REGEX, NLB_ACCESS_LOG_COLUMNS, lines[0])
    assert (entry["type"], entry["version"]) == ("tls", "2.0")
    assert entry["elb"] == lb.split(":loadbalancer/")[1]  # net/nlb-logged/<id>
    assert entry["listener_id"] == tls_arn.rsplit("/", 1)[1]
    assert (entry["target_ip"], entry["target_port"]) == ("127.0.0.1", str(echo.port))
    assert int(entry["received_bytes"]) == 5 and int(entry["sent_bytes"]) > 0
    assert entry["tls_protocol_version"].startswith("tlsv1")
    assert entry["domain_name"] == "nlb.example.com"


def _crl(ca: trustme.CA, serial: int) -> bytes:
    """A CRL signed by ``ca`` that revokes ``serial``."""
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    now = datetime.now(UTC)
    revoked = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
    crl = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject).last_update(now)
           .next_update(now + timedelta(days=1)).add_revoked_certificate(revoked).sign(key, hashes.SHA256()))
    return crl.public_bytes(serialization.Encoding.PEM)


def test_mtls_verification_outcomes_are_in_the_connection_log(emulator_server, emulator_url, elbv2, acm, s3, subnets,
                                                               ca):
    s3.create_bucket(Bucket="mtls-logs")
    client_ca = trustme.CA(organization_name="Client CA")
    trusted, revoked = client_ca.issue_cert("trusted@example.com"), client_ca.issue_cert("revoked@example.com")
    revoked_serial = x509.load_pem_x509_certificate(revoked.cert_chain_pems[0].bytes()).serial_number
    s3.put_object(Bucket="mtls-logs", Key="bundle.pem", Body=client_ca.cert_pem.bytes())
    s3.put_object(Bucket="mtls-logs", Key="crl.pem", Body=_crl(client_ca, revoked_serial))
    store = elbv2.create_trust_store(Name="clients", CaCertificatesBundleS3Bucket="mtls-logs",
                                     CaCertificatesBundleS3Key="bundle.pem")["TrustStores"][0]["TrustStoreArn"]
    elbv2.add_trust_store_revocations(TrustStoreArn=store, RevocationContents=[
        {"S3Bucket": "mtls-logs", "S3Key": "crl.pem", "RevocationType": "CRL"}])
    lb = alb(elbv2, subnets, "mtls-logged", attributes=_logging("connection_logs", "mtls-logs", "conn"))
    arn = listener(elbv2, lb, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
                   protocol="HTTPS", Certificates=[{"CertificateArn": import_certificate(acm, ca)}],
                   MutualAuthentication={"Mode": "verify", "TrustStoreArn": store})
    addr = address(listener_url(emulator_url, arn))
    assert https_request(addr, ca, client=trusted).status == 200
    with pytest.raises((ssl.SSLError, ConnectionError)):
        https_request(addr, ca, client=revoked)

    _, lines = delivered(emulator_server, s3, "mtls-logs", key_pattern(lb, "conn", file_prefix="conn_log."),
                         until=lambda found: len(found) >= 2)
    entries = [parse(ALB_CONNECTION_LOG_REGEX, ALB_CONNECTION_LOG_COLUMNS, line) for line in lines]
    accepted = next(e for e in entries if e["tls_verify_status"] == "Success")
    refused = next(e for e in entries if e["tls_verify_status"] == "Failed:ClientCertCrlHit")
    assert accepted["leaf_client_cert_subject"] != "-"
    assert accepted["leaf_client_cert_validity"].startswith("NotBefore=")
    assert refused["leaf_client_cert_serial_number"] == format(revoked_serial, "X")
    assert refused["conn_trace_id"].startswith("TID_") and refused["conn_trace_id"] != accepted["conn_trace_id"]
