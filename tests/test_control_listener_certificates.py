"""Add/Remove/DescribeListenerCertificates over boto3 (API_AddListenerCertificates)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from api_models.quotas import quota


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def certificate(acm):
    return lambda name: acm.request_certificate(DomainName=f"{name}.example.com")["CertificateArn"]


@pytest.fixture
def https_listener(elbv2, subnets, certificate) -> tuple[str, str]:
    """(listener ARN, its default certificate ARN)."""
    alb = elbv2.create_load_balancer(Name="alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    default = certificate("default")
    listener = elbv2.create_listener(
        LoadBalancerArn=alb, Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": default}],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
    )["Listeners"][0]["ListenerArn"]
    return listener, default


def test_describe_lists_default_first_then_added_once_each(elbv2, https_listener, certificate):
    listener, default = https_listener
    extra = certificate("extra")
    added = elbv2.add_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": extra}])
    assert added["Certificates"] == [{"CertificateArn": extra}]
    elbv2.add_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": extra}])  # no-op
    elbv2.add_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": default}])
    described = elbv2.describe_listener_certificates(ListenerArn=listener)["Certificates"]
    assert described == [
        {"CertificateArn": default, "IsDefault": True},
        {"CertificateArn": extra, "IsDefault": False},
        {"CertificateArn": default, "IsDefault": False},
    ]


def test_describe_is_paginated(elbv2, https_listener, certificate):
    listener, _ = https_listener
    elbv2.add_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": certificate(f"c{i}")} for i in range(3)])
    first = elbv2.describe_listener_certificates(ListenerArn=listener, PageSize=2)
    assert len(first["Certificates"]) == 2 and "NextMarker" in first
    pages = elbv2.get_paginator("describe_listener_certificates").paginate(ListenerArn=listener, PaginationConfig={"PageSize": 3})
    assert sum(len(page["Certificates"]) for page in pages) == 4


def test_unknown_certificate_is_certificate_not_found(elbv2, https_listener):
    missing = "arn:aws:acm:us-east-1:123456789012:certificate/missing"
    with pytest.raises(ClientError) as excinfo:
        elbv2.add_listener_certificates(ListenerArn=https_listener[0], Certificates=[{"CertificateArn": missing}])
    assert _error(excinfo) == ("CertificateNotFound", f"Certificate '{missing}' not found")


def test_is_default_cannot_be_set(elbv2, https_listener, certificate):
    with pytest.raises(ClientError) as excinfo:
        elbv2.add_listener_certificates(
            ListenerArn=https_listener[0], Certificates=[{"CertificateArn": certificate("x"), "IsDefault": True}]
        )
    assert _error(excinfo) == ("ValidationError", "You cannot set the isDefault parameter for a certificate.")


def test_quota_is_too_many_certificates(elbv2, https_listener, certificate):
    limit = quota("certificates-per-application-load-balancer")
    arns = [certificate(f"c{i}") for i in range(limit + 1)]
    elbv2.add_listener_certificates(ListenerArn=https_listener[0], Certificates=[{"CertificateArn": a} for a in arns[:limit]])
    with pytest.raises(ClientError) as excinfo:
        elbv2.add_listener_certificates(ListenerArn=https_listener[0], Certificates=[{"CertificateArn": arns[-1]}])
    assert _error(excinfo)[0] == "TooManyCertificates"


def test_remove(elbv2, https_listener, certificate):
    listener, default = https_listener
    extra = certificate("extra")
    elbv2.add_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": extra}])
    elbv2.remove_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": extra}])
    assert elbv2.describe_listener_certificates(ListenerArn=listener)["Certificates"] == [{"CertificateArn": default, "IsDefault": True}]
    with pytest.raises(ClientError) as excinfo:
        elbv2.remove_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": extra}])
    assert _error(excinfo) == ("CertificateNotFound", f"Certificate '{extra}' not found")


def test_default_certificate_cannot_be_removed(elbv2, https_listener):
    listener, default = https_listener
    with pytest.raises(ClientError) as excinfo:
        elbv2.remove_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": default}])
    assert _error(excinfo) == ("OperationNotPermitted", "Default certificate cannot be removed")


def test_missing_listener_is_listener_not_found(elbv2):
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/0123456789abcdef/0123456789abcdef"
    with pytest.raises(ClientError) as excinfo:
        elbv2.describe_listener_certificates(ListenerArn=arn)
    assert _error(excinfo) == ("ListenerNotFound", "One or more listeners not found")
