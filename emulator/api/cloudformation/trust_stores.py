"""``AWS::ElasticLoadBalancingV2::TrustStore`` and ``AWS::ElasticLoadBalancingV2::TrustStoreRevocation``.

Properties, update behaviours and return values: CloudFormation template reference,
"AWS::ElasticLoadBalancingV2::TrustStore" and "AWS::ElasticLoadBalancingV2::TrustStoreRevocation"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-truststore.html,
...-truststorerevocation.html): a revocation's Ref is its trust store's ARN, and every property change
replaces it.
"""

from __future__ import annotations

from typing import Any

from emulator.api.cloudformation.calls import Elbv2Client
from emulator.api.cloudformation.resource import Elbv2Resource, fitted_name, pick, update_tags

_BUNDLE = ("CaCertificatesBundleS3Bucket", "CaCertificatesBundleS3Key", "CaCertificatesBundleS3ObjectVersion")


class TrustStore(Elbv2Resource):
    TYPE = "AWS::ElasticLoadBalancingV2::TrustStore"
    NAME_PROPERTY = "Name"
    PROPERTIES = frozenset(_BUNDLE + ("Name", "Tags"))
    REPLACING = frozenset({"Name"})
    ATTRIBUTES = frozenset({"NumberOfCaCertificates", "Status", "TrustStoreArn"})

    @classmethod
    def make(cls, api: Elbv2Client, name: str, properties: dict[str, Any]) -> Elbv2Resource:
        created = api.call("CreateTrustStore", Name=fitted_name(name), **pick(properties, _BUNDLE + ("Tags",)))
        return cls(api.account, api.region, created["TrustStores"][0]["TrustStoreArn"], properties)

    def configure(self, api: Elbv2Client, properties: dict[str, Any], changed: set[str] | None) -> None:
        if changed is not None and changed.intersection(_BUNDLE):
            api.call("ModifyTrustStore", TrustStoreArn=self.physical_id, **pick(properties, _BUNDLE))
        update_tags(api, self.physical_id, properties, changed, self.managed_tags)

    def remove(self, api: Elbv2Client) -> None:
        api.call("DeleteTrustStore", TrustStoreArn=self.physical_id)

    def attribute(self, api: Elbv2Client, name: str) -> Any:
        if name == "TrustStoreArn":
            return self.physical_id
        return api.call("DescribeTrustStores", TrustStoreArns=[self.physical_id])["TrustStores"][0][name]


class TrustStoreRevocation(Elbv2Resource):
    TYPE = "AWS::ElasticLoadBalancingV2::TrustStoreRevocation"
    PROPERTIES = frozenset({"TrustStoreArn", "RevocationContents"})
    REPLACING = PROPERTIES
    ATTRIBUTES = frozenset({"RevocationId", "TrustStoreRevocations"})

    def __init__(self, account: str, region: str, physical_id: str, properties: dict[str, Any],
                 revocation_ids: list[int] | None = None) -> None:
        super().__init__(account, region, physical_id, properties)
        self.revocation_ids = revocation_ids or []

    @classmethod
    def make(cls, api: Elbv2Client, name: str, properties: dict[str, Any]) -> Elbv2Resource:
        added = api.call("AddTrustStoreRevocations", **pick(properties, ("TrustStoreArn", "RevocationContents")))
        ids = [revocation["RevocationId"] for revocation in added["TrustStoreRevocations"]]
        return cls(api.account, api.region, properties["TrustStoreArn"], properties, ids)

    def remove(self, api: Elbv2Client) -> None:
        if self.revocation_ids:
            api.call("RemoveTrustStoreRevocations", TrustStoreArn=self.physical_id, RevocationIds=self.revocation_ids)

    def attribute(self, api: Elbv2Client, name: str) -> Any:
        if name == "RevocationId":
            return str(self.revocation_ids[0]) if self.revocation_ids else ""
        described = api.call("DescribeTrustStoreRevocations", TrustStoreArn=self.physical_id,
                              RevocationIds=self.revocation_ids)["TrustStoreRevocations"]
        return [revocation | {"RevocationId": str(revocation["RevocationId"])} for revocation in described]
