"""Certificates requested through ACM on the emulator's endpoint are issued on the emulator's clock (issue 12,
point 4): at once with fast timing, after moto's minute with ``--timing aws``; an HTTPS listener serves one."""

from __future__ import annotations

import socket
import ssl

import boto3
from cryptography import x509

from tests.alb_support import address, listener_url
from tests.server_process import emulator_process


def _status(acm, arn: str) -> str:
    return acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"]


def test_requested_certificate_is_issued_at_once_and_served_by_an_https_listener(acm, elbv2, subnets, emulator_url):
    arn = acm.request_certificate(DomainName="shop.example.com", ValidationMethod="DNS")["CertificateArn"]
    assert _status(acm, arn) == "ISSUED"
    lb = elbv2.create_load_balancer(Name="tls", Subnets=subnets)["LoadBalancers"][0]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=8443, Certificates=[{"CertificateArn": arn}],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "204"}}],
    )["Listeners"][0]
    host, port = address(listener_url(emulator_url, listener["ListenerArn"]))
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=5) as raw, context.wrap_socket(raw, server_hostname="shop.example.com") as tls:
        served = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
    names = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert "shop.example.com" in names


def test_with_aws_timing_a_requested_certificate_waits_for_validation():
    with emulator_process("--timing", "aws") as (url, _):
        acm = boto3.client("acm", endpoint_url=url, region_name="us-east-1")
        arn = acm.request_certificate(DomainName="shop.example.com", ValidationMethod="DNS")["CertificateArn"]
        assert _status(acm, arn) == "PENDING_VALIDATION"

