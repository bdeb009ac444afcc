"""Add/Remove/DescribeTrustStoreRevocations and GetTrustStoreRevocationContent: CRLs of a trust store.

Each CRL is read from S3 when added (AWS copies it, as for the CA bundle) and counted; quotas from
"Quotas for your Application Load Balancers": 500,000 revocation entries and 30 revocation lists per
trust store, 50 MB per list.
"""

from __future__ import annotations

import base64

from cryptography import x509

from api_models.quotas import quota
from api_models.trust_stores import TrustStore, TrustStoreRevocation
from emulator.control import s3_objects
from emulator.control.context import Context, Request, Result, operation
from emulator.control.lookups import trust_store_or_error
from emulator.control.paging import paginate
from emulator.errors import AwsError, validation_error


def _count_revoked(content: bytes) -> int:
    """Entries in a CRL (PEM or DER); InvalidRevocationContent when it is neither."""
    if len(content) > quota("revocation-list-bytes"):
        raise AwsError("InvalidRevocationContent", "The revocation file is larger than 50 MB")  # wording inferred
    loader = x509.load_pem_x509_crl if content.lstrip().startswith(b"-----BEGIN") else x509.load_der_x509_crl
    try:
        return sum(1 for _ in loader(content))
    except ValueError:
        raise AwsError("InvalidRevocationContent", "The revocation file is not a valid certificate revocation list") from None  # wording inferred


def _read_revocation(spec: dict[str, str], revocation_id: int) -> TrustStoreRevocation:
    if not spec.get("S3Bucket") or not spec.get("S3Key"):
        raise validation_error("A revocation content must specify S3Bucket and S3Key")  # wording inferred
    content = s3_objects.read_object(spec["S3Bucket"], spec["S3Key"], spec.get("S3ObjectVersion"), "RevocationContentNotFound")
    return TrustStoreRevocation(
        RevocationId=revocation_id, RevocationType=spec.get("RevocationType", "CRL"),
        NumberOfRevokedEntries=_count_revoked(content), content_b64=base64.b64encode(content).decode("ascii"),
    )


def _check_quotas(revocations: tuple[TrustStoreRevocation, ...]) -> None:
    entries = sum(r.NumberOfRevokedEntries for r in revocations)
    if entries > quota("revocation-entries-per-trust-store") or len(revocations) > quota("revocation-lists-per-trust-store"):
        raise AwsError("TooManyTrustStoreRevocationEntries", "The specified trust store has too many revocation entries.")


def _aws(store: TrustStore, revocation: TrustStoreRevocation) -> dict[str, object]:
    return {"TrustStoreArn": store.TrustStoreArn, **revocation.model_dump(exclude={"content_b64"})}


@operation("AddTrustStoreRevocations")
def add_trust_store_revocations(ctx: Context, req: Request) -> Result:
    store = trust_store_or_error(ctx, req["TrustStoreArn"])
    specs = req.get("RevocationContents") or []
    if not specs:
        raise validation_error("At least one revocation content must be specified")  # wording inferred
    added = tuple(_read_revocation(spec, store.next_revocation_id + i) for i, spec in enumerate(specs))
    _check_quotas(store.revocations + added)
    ctx.tx.put(store.model_copy(update={
        "revocations": store.revocations + added, "next_revocation_id": store.next_revocation_id + len(added),
    }))
    return {"TrustStoreRevocations": [_aws(store, r) for r in added]}


def _revocations_or_error(store: TrustStore, ids: list[int]) -> list[TrustStoreRevocation]:
    by_id = {r.RevocationId: r for r in store.revocations}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise AwsError("RevocationIdNotFound", f"Revocation IDs '{missing}' not found")  # wording inferred
    return [by_id[i] for i in ids]


@operation("RemoveTrustStoreRevocations")
def remove_trust_store_revocations(ctx: Context, req: Request) -> Result:
    store = trust_store_or_error(ctx, req["TrustStoreArn"])
    removed = {r.RevocationId for r in _revocations_or_error(store, req["RevocationIds"])}
    kept = tuple(r for r in store.revocations if r.RevocationId not in removed)
    ctx.tx.put(store.model_copy(update={"revocations": kept}))
    return None


@operation("DescribeTrustStoreRevocations")
def describe_trust_store_revocations(ctx: Context, req: Request) -> Result:
    store = trust_store_or_error(ctx, req["TrustStoreArn"])
    ids = req.get("RevocationIds")
    selected = _revocations_or_error(store, ids) if ids else list(store.revocations)
    page, next_marker = paginate(selected, req, key=lambda revocation: (revocation.RevocationId,))
    return {"TrustStoreRevocations": [_aws(store, r) for r in page], "NextMarker": next_marker}


@operation("GetTrustStoreRevocationContent")
def get_trust_store_revocation_content(ctx: Context, req: Request) -> Result:
    store = trust_store_or_error(ctx, req["TrustStoreArn"])
    (revocation,) = _revocations_or_error(store, [req["RevocationId"]])
    key = f"{store.TrustStoreArn.rsplit('/', 1)[1]}/revocations/{revocation.RevocationId}.crl"
    return {"Location": s3_objects.publish(ctx, key, base64.b64decode(revocation.content_b64))}
