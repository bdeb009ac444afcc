"""HTTPS listeners: TLS with ACM certificates (imported into moto's ACM), SNI across certificates, SslPolicy,
X-Forwarded-Proto https, and TLS to HTTPS target groups."""

from __future__ import annotations

import json
import socket
import ssl

import boto3
import pytest
import trustme
from botocore.exceptions import ClientError

from tests.alb_support import RawBackend, address, alb, forward, listener, listener_url, read_head, target_group
from tests.backends import HttpEcho


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _import(acm, ca: trustme.CA, *names: str) -> str:
    cert = ca.issue_cert(*names, common_name=names[0])  # moto ACM needs a subject CN
    return acm.import_certificate(Certificate=cert.cert_chain_pems[0].bytes(), PrivateKey=cert.private_key_pem.bytes(),
                                  CertificateChain=ca.cert_pem.bytes())["CertificateArn"]


def _get(addr: tuple[str, int], ca: trustme.CA, server_name: str | None, version: ssl.TLSVersion | None = None):
    """(peer certificate's names, response) for one HTTPS GET with the given SNI name."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.check_hostname = False
    if version is not None:
        context.minimum_version = context.maximum_version = version
    with socket.create_connection(addr, timeout=5) as raw_sock:
        with context.wrap_socket(raw_sock, server_hostname=server_name) as sock:
            names = [value for kind, value in sock.getpeercert().get("subjectAltName", ()) if kind == "DNS"]
            sock.sendall(b"GET /secure HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    return names, data


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_https_listener_with_sni_certificates(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    default = _import(acm, ca, "default.example.com")
    other = _import(acm, ca, "*.shop.example.com")
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets)
        arn = listener(elbv2, lb, forward(target_group(elbv2, vpc_id, "tg", [backend])), protocol="HTTPS",
                       Certificates=[{"CertificateArn": default}], SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06")
        elbv2.add_listener_certificates(ListenerArn=arn, Certificates=[{"CertificateArn": other}])
        addr = address(listener_url(emulator_url, arn))
        names, response = _get(addr, ca, "www.shop.example.com")
        assert names == ["*.shop.example.com"]
        assert response.startswith(b"HTTP/1.1 200 ")
        echoed = dict((k.lower(), v) for k, v in json.loads(response.split(b"\r\n\r\n", 1)[1])["headers"])
        assert echoed["x-forwarded-proto"] == "https" and echoed["x-forwarded-port"] == str(addr[1])
        assert _get(addr, ca, "unknown.example.org")[0] == ["default.example.com"]  # no match: the default
        assert _get(addr, ca, None)[0] == ["default.example.com"]  # no SNI: the default
        with pytest.raises(ssl.SSLError):  # the policy's minimum is TLS 1.2
            _get(addr, ca, "default.example.com", ssl.TLSVersion.TLSv1_1)


def test_tls13_only_policy(elbv2, acm, subnets, emulator_url, ca):
    cert = _import(acm, ca, "a.example.com")
    lb = alb(elbv2, subnets)
    fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "MessageBody": "tls13"}}]
    arn = listener(elbv2, lb, fixed, protocol="HTTPS", Certificates=[{"CertificateArn": cert}],
                   SslPolicy="ELBSecurityPolicy-TLS13-1-3-2021-06")
    addr = address(listener_url(emulator_url, arn))
    assert _get(addr, ca, "a.example.com", ssl.TLSVersion.TLSv1_3)[1].endswith(b"tls13")
    with pytest.raises(ssl.SSLError):
        _get(addr, ca, "a.example.com", ssl.TLSVersion.TLSv1_2)


def test_https_target_group_gets_tls_unverified(elbv2, subnets, vpc_id, emulator_url, ca):
    server_cert = ca.issue_cert("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(context)

    def tls_backend(sock: socket.socket) -> None:
        with context.wrap_socket(sock, server_side=True) as tls:
            head, _ = read_head(tls)
            body = b"tls target saw " + head.split(b"\r\n")[0]
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))

    with HttpEcho("health") as health, RawBackend(tls_backend) as backend:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tls", [backend], protocol="HTTPS", health=health, HealthCheckProtocol="HTTP")
        url = listener_url(emulator_url, listener(elbv2, lb, forward(tg)))
        import requests

        assert requests.get(f"{url}/x", timeout=5).text == "tls target saw GET /x HTTP/1.1"


def test_https_listener_serves_an_iam_server_certificate(elbv2, subnets, vpc_id, emulator_url, ca):
    """CreateListener accepts IAM server certificate ARNs (the API reference's own example uses one): the
    listener serves the certificate uploaded with iam upload-server-certificate; an ARN IAM does not hold is
    refused with CertificateNotFound, as an unknown ACM certificate is."""
    iam = boto3.client("iam", endpoint_url=emulator_url, region_name="us-east-1")
    cert = ca.issue_cert("iam.example.com", common_name="iam.example.com")
    uploaded = iam.upload_server_certificate(
        ServerCertificateName="iam-cert", CertificateBody=cert.cert_chain_pems[0].bytes().decode(),
        PrivateKey=cert.private_key_pem.bytes().decode(), CertificateChain=ca.cert_pem.bytes().decode(),
    )["ServerCertificateMetadata"]["Arn"]
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets)
        group = target_group(elbv2, vpc_id, "tg", [backend])
        arn = listener(elbv2, lb, forward(group), protocol="HTTPS", Certificates=[{"CertificateArn": uploaded}])
        names, response = _get(address(listener_url(emulator_url, arn)), ca, "iam.example.com")
        assert names == ["iam.example.com"] and response.startswith(b"HTTP/1.1 200 ")

        missing = uploaded.replace("iam-cert", "no-such-cert")
        with pytest.raises(ClientError) as refused:
            listener(elbv2, lb, forward(group), protocol="HTTPS", Certificates=[{"CertificateArn": missing}])
        assert refused.value.response["Error"]["Code"] == "CertificateNotFound"
