"""Trust stores for mutual TLS (``verify`` mode) and the certificate revocation lists added to them.

The CA bundle and each CRL are kept in the model (not just their S3 location) because AWS copies them at
create time: deleting or overwriting the S3 object later changes nothing, and the two Get* operations
hand out AWS's own copy. Keeping them here also makes them survive a restart with the rest of the state.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from api_models.resources import Tagged, register_resource_type


class TrustStoreRevocation(BaseModel):
    """One CRL added by AddTrustStoreRevocations; ids are assigned per trust store from 1 upwards
    (inferred: AWS does not document the numbering)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    RevocationId: int
    RevocationType: str  # "CRL", the only type the model defines
    NumberOfRevokedEntries: int
    content_b64: str  # the CRL file as read from S3 (PEM or DER), base64


class TrustStore(Tagged):
    kind: ClassVar[str] = "trust-store"

    TrustStoreArn: str
    Name: str
    Status: str  # ACTIVE | CREATING; the emulator validates synchronously, so always ACTIVE
    NumberOfCaCertificates: int

    ca_bundle_pem: str
    revocations: tuple[TrustStoreRevocation, ...] = ()
    next_revocation_id: int = 1

    @property
    def key(self) -> str:
        return self.TrustStoreArn

    @property
    def total_revoked_entries(self) -> int:
        return sum(r.NumberOfRevokedEntries for r in self.revocations)

    def to_aws(self) -> dict[str, object]:
        return {**super().to_aws(), "TotalRevokedEntries": self.total_revoked_entries}


register_resource_type(TrustStore)
