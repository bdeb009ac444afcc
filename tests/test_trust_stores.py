"""Trust stores and revocations through boto3: CA bundles and CRLs read from (moto's) S3, presigned URLs."""

from __future__ import annotations

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from tests.conftest import REGION
from tests.pki import crl, pem_bundle

BUCKET = "trust-material"


@pytest.fixture
def s3(emulator_url: str):
    client = boto3.client("s3", endpoint_url=emulator_url, region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def _create(elbv2, s3, name: str = "store", certificates: int = 2) -> dict:
    s3.put_object(Bucket=BUCKET, Key=f"{name}.pem", Body=pem_bundle(certificates))
    return elbv2.create_trust_store(
        Name=name, CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key=f"{name}.pem",
    )["TrustStores"][0]


def test_create_describe_modify_delete(elbv2, s3) -> None:
    store = _create(elbv2, s3, certificates=3)
    assert store["Status"] == "ACTIVE"
    assert store["NumberOfCaCertificates"] == 3
    assert store["TotalRevokedEntries"] == 0
    assert ":truststore/store/" in store["TrustStoreArn"]

    by_name = elbv2.describe_trust_stores(Names=["store"])["TrustStores"]
    assert by_name == [store]
    s3.put_object(Bucket=BUCKET, Key="other.pem", Body=pem_bundle(1))
    modified = elbv2.modify_trust_store(
        TrustStoreArn=store["TrustStoreArn"], CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key="other.pem"
    )["TrustStores"][0]
    assert modified["NumberOfCaCertificates"] == 1
    assert elbv2.describe_trust_store_associations(TrustStoreArn=store["TrustStoreArn"])["TrustStoreAssociations"] == []

    elbv2.delete_trust_store(TrustStoreArn=store["TrustStoreArn"])
    with pytest.raises(ClientError) as error:
        elbv2.describe_trust_stores(TrustStoreArns=[store["TrustStoreArn"]])
    assert _code(error) == "TrustStoreNotFound"


def test_create_errors(elbv2, s3) -> None:
    _create(elbv2, s3)
    with pytest.raises(ClientError) as error:
        _create(elbv2, s3)
    assert _code(error) == "DuplicateTrustStoreName"
    with pytest.raises(ClientError) as error:
        elbv2.create_trust_store(Name="missing", CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key="nope.pem")
    assert _code(error) == "CaCertificatesBundleNotFound"
    s3.put_object(Bucket=BUCKET, Key="junk.pem", Body=b"not a certificate")
    with pytest.raises(elbv2.exceptions.InvalidCaCertificatesBundleException):
        elbv2.create_trust_store(Name="junk", CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key="junk.pem")
    with pytest.raises(ClientError) as error:
        elbv2.delete_trust_store(TrustStoreArn="arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/x/0123456789abcdef")
    assert _code(error) == "TrustStoreNotFound"


def test_too_many_trust_stores(elbv2, s3) -> None:
    s3.put_object(Bucket=BUCKET, Key="ca.pem", Body=pem_bundle(1))
    for i in range(20):
        elbv2.create_trust_store(Name=f"s{i}", CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key="ca.pem")
    with pytest.raises(elbv2.exceptions.TooManyTrustStoresException):
        elbv2.create_trust_store(Name="s20", CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key="ca.pem")
    pages = list(elbv2.get_paginator("describe_trust_stores").paginate(PaginationConfig={"PageSize": 7}))
    assert [len(p["TrustStores"]) for p in pages] == [7, 7, 6]


def test_ca_bundle_presigned_url_works(elbv2, s3) -> None:
    bundle = pem_bundle(2)
    s3.put_object(Bucket=BUCKET, Key="ca.pem", Body=bundle)
    arn = elbv2.create_trust_store(
        Name="store", CaCertificatesBundleS3Bucket=BUCKET, CaCertificatesBundleS3Key="ca.pem"
    )["TrustStores"][0]["TrustStoreArn"]
    s3.delete_object(Bucket=BUCKET, Key="ca.pem")  # AWS keeps its own copy
    location = elbv2.get_trust_store_ca_certificates_bundle(TrustStoreArn=arn)["Location"]
    answer = requests.get(location, timeout=10)
    assert answer.status_code == 200
    assert answer.content == bundle


def test_revocations(elbv2, s3) -> None:
    arn = _create(elbv2, s3)["TrustStoreArn"]
    s3.put_object(Bucket=BUCKET, Key="a.crl", Body=crl([1, 2, 3]))
    s3.put_object(Bucket=BUCKET, Key="b.crl", Body=crl([7], pem=False))
    added = elbv2.add_trust_store_revocations(
        TrustStoreArn=arn,
        RevocationContents=[{"S3Bucket": BUCKET, "S3Key": "a.crl"}, {"S3Bucket": BUCKET, "S3Key": "b.crl", "RevocationType": "CRL"}],
    )["TrustStoreRevocations"]
    assert [(r["RevocationId"], r["NumberOfRevokedEntries"], r["RevocationType"]) for r in added] == [(1, 3, "CRL"), (2, 1, "CRL")]
    assert elbv2.describe_trust_stores(TrustStoreArns=[arn])["TrustStores"][0]["TotalRevokedEntries"] == 4

    described = elbv2.describe_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[2])["TrustStoreRevocations"]
    assert described == [added[1]]
    location = elbv2.get_trust_store_revocation_content(TrustStoreArn=arn, RevocationId=1)["Location"]
    assert requests.get(location, timeout=10).content == crl_bytes(s3, "a.crl")

    elbv2.remove_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[1])
    assert [r["RevocationId"] for r in elbv2.describe_trust_store_revocations(TrustStoreArn=arn)["TrustStoreRevocations"]] == [2]
    for call in (
        lambda: elbv2.remove_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[1]),
        lambda: elbv2.describe_trust_store_revocations(TrustStoreArn=arn, RevocationIds=[99]),
        lambda: elbv2.get_trust_store_revocation_content(TrustStoreArn=arn, RevocationId=1),
    ):
        with pytest.raises(elbv2.exceptions.RevocationIdNotFoundException):
            call()


def crl_bytes(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_revocation_errors(elbv2, s3) -> None:
    arn = _create(elbv2, s3)["TrustStoreArn"]
    with pytest.raises(elbv2.exceptions.RevocationContentNotFoundException):
        elbv2.add_trust_store_revocations(TrustStoreArn=arn, RevocationContents=[{"S3Bucket": BUCKET, "S3Key": "none.crl"}])
    s3.put_object(Bucket=BUCKET, Key="junk.crl", Body=b"junk")
    with pytest.raises(elbv2.exceptions.InvalidRevocationContentException):
        elbv2.add_trust_store_revocations(TrustStoreArn=arn, RevocationContents=[{"S3Bucket": BUCKET, "S3Key": "junk.crl"}])


def test_shared_association_errors(elbv2, s3) -> None:
    arn = _create(elbv2, s3)["TrustStoreArn"]
    lb_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/0123456789abcdef"
    with pytest.raises(ClientError) as error:
        elbv2.delete_shared_trust_store_association(TrustStoreArn=arn, ResourceArn=lb_arn)
    assert _code(error) == "DeleteAssociationSameAccount"
    with pytest.raises(ClientError) as error:
        elbv2.delete_shared_trust_store_association(TrustStoreArn=arn.replace("/store/", "/gone/"), ResourceArn=lb_arn)
    assert _code(error) == "TrustStoreNotFound"


def test_resource_policy(elbv2, s3) -> None:
    arn = _create(elbv2, s3)["TrustStoreArn"]
    assert "Policy" not in elbv2.get_resource_policy(ResourceArn=arn)
    with pytest.raises(elbv2.exceptions.ResourceNotFoundException):
        elbv2.get_resource_policy(ResourceArn=arn.replace("/store/", "/gone/"))


def test_tags_on_trust_stores(elbv2, s3) -> None:
    arn = _create(elbv2, s3)["TrustStoreArn"]
    elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": "team", "Value": "edge"}])
    assert elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"] == [{"ResourceArn": arn, "Tags": [{"Key": "team", "Value": "edge"}]}]
    elbv2.remove_tags(ResourceArns=[arn], TagKeys=["team"])
    assert elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"] == []
    missing = arn[: arn.rindex("/")] + "/0000000000000000"
    with pytest.raises(ClientError) as error:
        elbv2.add_tags(ResourceArns=[missing], Tags=[{"Key": "k", "Value": "v"}])
    assert _code(error) == "TrustStoreNotFound"


def test_verify_listener_needs_an_existing_trust_store(elbv2, s3, subnets) -> None:
    acm = boto3.client("acm", endpoint_url=elbv2.meta.endpoint_url, region_name=REGION)
    certificate = acm.request_certificate(DomainName="mtls.example.com")["CertificateArn"]
    alb = elbv2.create_load_balancer(Name="mtls", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    store = _create(elbv2, s3)["TrustStoreArn"]
    listener = dict(
        LoadBalancerArn=alb, Protocol="HTTPS", Port=21443, Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
    )
    missing = store[: store.rindex("/")] + "/0000000000000000"
    with pytest.raises(ClientError) as error:
        elbv2.create_listener(**listener, MutualAuthentication={"Mode": "verify", "TrustStoreArn": missing})
    assert _code(error) == "TrustStoreNotFound"
    with pytest.raises(ClientError) as error:
        elbv2.create_listener(**listener, MutualAuthentication={"Mode": "verify"})
    assert _code(error) == "ValidationError"
    created = elbv2.create_listener(**listener, MutualAuthentication={"Mode": "verify", "TrustStoreArn": store})["Listeners"][0]
    assert created["MutualAuthentication"]["TrustStoreArn"] == store
    assert elbv2.describe_trust_store_associations(TrustStoreArn=store)["TrustStoreAssociations"] == [{"ResourceArn": alb}]
