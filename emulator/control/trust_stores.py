"""Trust stores for mutual TLS: Create/Modify/Delete/DescribeTrustStores, their associations, the CA bundle URL.

A trust store holds a PEM bundle of CA certificates read from S3 (AWS: "Mutual authentication with TLS in
Application Load Balancer"); listeners in ``verify`` mode name it in ``MutualAuthentication``. The
emulator validates the bundle synchronously, so a new trust store is ``ACTIVE`` at once and
TrustStoreNotReady never arises. Revocation lists live in ``trust_store_revocations``.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from api_models.identifiers import new_id, trust_store_arn
from api_models.quotas import quota
from api_models.resources import Listener
from api_models.trust_stores import TrustStore
from emulator.control import s3_objects
from emulator.control.context import Context, Request, Result, operation
from emulator.control.lookups import trust_store_or_error
from emulator.control.paging import paginate
from emulator.control.tags import merge_tags
from emulator.errors import AwsError


def ca_bundle_key(trust_store: TrustStore) -> str:
    """Where the emulator's copy lives in its own S3 bucket: ``<trust store id>/...``."""
    return f"{trust_store.TrustStoreArn.rsplit('/', 1)[1]}/ca-certificates-bundle.pem"


def _invalid_bundle(reason: str) -> AwsError:
    return AwsError("InvalidCaCertificatesBundle", f"The CA certificates bundle is invalid: {reason}")  # wording inferred


def _count_certificates(pem: bytes) -> int:
    """Number of CA certificates in a PEM bundle, within the trust store quotas, else InvalidCaCertificatesBundle."""
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise _invalid_bundle("it is not a PEM-encoded list of X.509 certificates") from None
    if len(certificates) > quota("ca-certificates-per-trust-store"):
        raise _invalid_bundle(f"it has more than {quota('ca-certificates-per-trust-store')} certificates")
    if any(len(c.public_bytes(Encoding.DER)) > quota("ca-certificate-bytes") for c in certificates):
        raise _invalid_bundle(f"a certificate is larger than {quota('ca-certificate-bytes')} bytes")
    return len(certificates)


def _read_bundle(req: Request) -> tuple[str, int]:
    """(PEM text, certificate count) of the bundle the request names in S3."""
    content = s3_objects.read_object(
        req["CaCertificatesBundleS3Bucket"], req["CaCertificatesBundleS3Key"],
        req.get("CaCertificatesBundleS3ObjectVersion"), "CaCertificatesBundleNotFound",
    )
    count = _count_certificates(content)
    return content.decode("ascii", errors="replace"), count


def _check_new_name(ctx: Context, name: str) -> None:
    stores = ctx.tx.all(TrustStore)
    if any(store.Name == name for store in stores):
        raise AwsError("DuplicateTrustStoreName", f"A trust store with the name '{name}' already exists")  # wording inferred
    if len(stores) >= quota("trust-stores"):
        raise AwsError("TooManyTrustStores", "You've reached the limit on the number of trust stores for your account")


@operation("CreateTrustStore")
def create_trust_store(ctx: Context, req: Request) -> Result:
    _check_new_name(ctx, req["Name"])
    pem, count = _read_bundle(req)
    tags = merge_tags({}, req.get("Tags"))
    store = TrustStore(
        account=ctx.account, region=ctx.region, tags=tags,
        TrustStoreArn=trust_store_arn(ctx.region, ctx.account, req["Name"], new_id()),
        Name=req["Name"], Status="ACTIVE", NumberOfCaCertificates=count, ca_bundle_pem=pem,
    )
    ctx.tx.put(store)
    return {"TrustStores": [store.to_aws()]}


@operation("ModifyTrustStore")
def modify_trust_store(ctx: Context, req: Request) -> Result:
    store = trust_store_or_error(ctx, req["TrustStoreArn"])
    pem, count = _read_bundle(req)
    updated = store.model_copy(update={"ca_bundle_pem": pem, "NumberOfCaCertificates": count})
    ctx.tx.put(updated)
    return {"TrustStores": [updated.to_aws()]}


def associated_load_balancers(ctx: Context, arn: str) -> list[str]:
    """ARNs of the load balancers with a listener that verifies clients against the trust store."""
    found: list[str] = []
    for listener in ctx.tx.all(Listener):
        if (listener.MutualAuthentication or {}).get("TrustStoreArn") == arn and listener.LoadBalancerArn not in found:
            found.append(listener.LoadBalancerArn)
    return found


@operation("DeleteTrustStore")
def delete_trust_store(ctx: Context, req: Request) -> Result:
    store = trust_store_or_error(ctx, req["TrustStoreArn"])
    if associated_load_balancers(ctx, store.TrustStoreArn):
        raise AwsError("TrustStoreInUse", f"Trust store '{store.TrustStoreArn}' is in use by a listener")  # wording inferred
    ctx.tx.delete(store)
    s3_objects.unpublish(ctx, ca_bundle_key(store).split("/", 1)[0] + "/")
    return None


def _selected(ctx: Context, req: Request) -> list[TrustStore]:
    stores = ctx.tx.all(TrustStore)
    if arns := req.get("TrustStoreArns"):
        return [trust_store_or_error(ctx, arn) for arn in arns]
    if names := req.get("Names"):
        by_name = {store.Name: store for store in stores}
        missing = [name for name in names if name not in by_name]
        if missing:
            raise AwsError("TrustStoreNotFound", f"Trust stores '{missing}' not found")  # wording inferred
        return [by_name[name] for name in names]
    return stores


@operation("DescribeTrustStores")
def describe_trust_stores(ctx: Context, req: Request) -> Result:
    page, next_marker = paginate(_selected(ctx, req), req, key=lambda store: (store.Name, store.TrustStoreArn))
    return {"TrustStores": [store.to_aws() for store in page], "NextMarker": next_marker}


@operation("DescribeTrustStoreAssociations")
def describe_trust_store_associations(ctx: Context, req: Request) -> Result:
    store = trust_store_or_error(ctx, req["TrustStoreArn"])
    page, next_marker = paginate(associated_load_balancers(ctx, store.TrustStoreArn), req, key=lambda arn: (arn,))
    return {"TrustStoreAssociations": [{"ResourceArn": arn} for arn in page], "NextMarker": next_marker}


@operation("DeleteSharedTrustStoreAssociation")
def delete_shared_trust_store_association(ctx: Context, req: Request) -> Result:
    """Detach another account's (RAM-shared) trust store from one of this account's load balancers."""
    arn, resource_arn = req["TrustStoreArn"], req["ResourceArn"]
    store = ctx.services.store.get(TrustStore, arn)  # the owner's scope, not the caller's
    if store is None:
        raise AwsError("TrustStoreNotFound", f"Trust store '{arn}' not found")
    if store.account == ctx.account:
        raise AwsError("DeleteAssociationSameAccount", "The specified association can't be within the same account.")
    listeners = [
        listener for listener in ctx.tx.all(Listener)
        if listener.LoadBalancerArn == resource_arn and (listener.MutualAuthentication or {}).get("TrustStoreArn") == arn
    ]
    if not listeners:
        raise AwsError("AssociationNotFound", "The specified association does not exist.")
    for listener in listeners:
        ctx.tx.put(listener.model_copy(update={"MutualAuthentication": {"Mode": "off"}}))
    return None


@operation("GetTrustStoreCaCertificatesBundle")
def get_trust_store_ca_certificates_bundle(ctx: Context, req: Request) -> Result:
    store = trust_store_or_error(ctx, req["TrustStoreArn"])
    return {"Location": s3_objects.publish(ctx, ca_bundle_key(store), store.ca_bundle_pem.encode("ascii"))}
