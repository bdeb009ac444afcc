"""Pydantic models of every stored ELBv2 resource.

Convention: fields spelled like AWS members (``LoadBalancerArn``, ``Port``…) are exactly what the API
returns for the resource, so ``to_aws()`` yields the response shape; snake_case fields are the emulator's
own bookkeeping (owner account and region, attributes, tags, the loopback address an LB listens on).

Models are frozen: a handler never edits a stored object in place, it builds a changed copy with
``model_copy(update=...)`` and hands it to the store, so a request that fails half-way changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

Action = dict[str, Any]  # an AWS Action structure, as parsed from the wire and echoed back
Condition = dict[str, Any]  # an AWS RuleCondition structure


class Resource(BaseModel):
    """Something the store keeps, persists and publishes changes of."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str]

    account: str
    region: str

    @property
    def key(self) -> str:
        """Unique key of the resource in the store (its ARN for ARN-named resources)."""
        raise NotImplementedError

    def to_aws(self) -> dict[str, Any]:
        """The members AWS returns for this resource (the PascalCase fields), without ``None`` values."""
        names = {name for name in type(self).model_fields if name[0].isupper()}
        return self.model_dump(include=names, exclude_none=True)


class Tagged(Resource):
    """A resource AddTags/RemoveTags/DescribeTags work on; tags keep their insertion order."""

    tags: dict[str, str] = Field(default_factory=dict)


class LoadBalancer(Tagged):
    kind: ClassVar[str] = "load-balancer"

    LoadBalancerArn: str
    LoadBalancerName: str
    # A Gateway Load Balancer has no DNS name, hosted zone or scheme: it is reached through VPC endpoints
    # and AWS omits the three members from its output (observed: AWS CLI create-load-balancer --type gateway).
    DNSName: str | None = None
    CanonicalHostedZoneId: str | None = None
    CreatedTime: datetime
    Scheme: str | None = None
    VpcId: str
    Type: str
    IpAddressType: str
    AvailabilityZones: list[dict[str, Any]]
    SecurityGroups: list[str] | None = None
    CustomerOwnedIpv4Pool: str | None = None
    EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: str | None = None
    EnablePrefixForIpv6SourceNat: str | None = None
    IpamPools: dict[str, Any] | None = None

    attributes: dict[str, str]
    address: str  # the loopback address its listeners bind (see ``emulator.dataplane.addresses``)
    active_at: datetime  # provisioning -> active happens at this instant (configurable delay)

    @property
    def key(self) -> str:
        return self.LoadBalancerArn

    def state(self, now: datetime) -> dict[str, str]:
        return {"Code": "active" if now >= self.active_at else "provisioning"}


class TargetGroup(Tagged):
    kind: ClassVar[str] = "target-group"

    TargetGroupArn: str
    TargetGroupName: str
    Protocol: str | None = None
    Port: int | None = None
    VpcId: str | None = None
    HealthCheckProtocol: str | None = None
    HealthCheckPort: str | None = None
    HealthCheckEnabled: bool
    HealthCheckIntervalSeconds: int
    HealthCheckTimeoutSeconds: int
    HealthyThresholdCount: int
    UnhealthyThresholdCount: int
    HealthCheckPath: str | None = None
    Matcher: dict[str, str] | None = None
    TargetType: str
    ProtocolVersion: str | None = None
    IpAddressType: str | None = None

    attributes: dict[str, str]

    @property
    def key(self) -> str:
        return self.TargetGroupArn


class Listener(Tagged):
    kind: ClassVar[str] = "listener"

    ListenerArn: str
    LoadBalancerArn: str
    Port: int | None = None
    Protocol: str | None = None
    Certificates: list[dict[str, Any]] | None = None
    SslPolicy: str | None = None
    DefaultActions: list[Action]
    AlpnPolicy: list[str] | None = None
    MutualAuthentication: dict[str, Any] | None = None

    attributes: dict[str, str]
    # Extra (SNI) certificates from AddListenerCertificates; the default one is Certificates[0].
    extra_certificates: list[str] = Field(default_factory=list)

    @property
    def key(self) -> str:
        return self.ListenerArn


class Rule(Tagged):
    kind: ClassVar[str] = "rule"

    RuleArn: str
    Priority: str  # "1".."50000" or "default", a string as AWS returns it
    Conditions: list[Condition]
    Actions: list[Action]
    IsDefault: bool
    Transforms: list[dict[str, Any]] | None = None

    listener_arn: str

    @property
    def key(self) -> str:
        return self.RuleArn

    @property
    def priority_number(self) -> int:
        """Evaluation order: numbered rules ascending, the default rule last."""
        return 50001 if self.IsDefault else int(self.Priority)


class TargetRegistration(Resource):
    """One registered (Id, Port) in a target group, kept while it is registered or draining."""

    kind: ClassVar[str] = "target"

    target_group_arn: str
    Id: str
    Port: int | None = None  # None only for lambda/alb targets without a port
    AvailabilityZone: str | None = None
    # QUIC and TCP_QUIC groups: "0x" and 16 lowercase hex digits, the server ID the target encodes in its
    # connection IDs (API_TargetDescription); None for every other protocol.
    QuicServerId: str | None = None
    registered_at: datetime
    deregistered_at: datetime | None = None  # set when deregistration (draining) started

    @property
    def key(self) -> str:
        return f"{self.target_group_arn}|{self.Id}|{self.Port}"


RESOURCE_TYPES: dict[str, type[Resource]] = {
    cls.kind: cls for cls in (LoadBalancer, TargetGroup, Listener, Rule, TargetRegistration)
}


def register_resource_type(cls: type[Resource]) -> type[Resource]:
    """Add a resource kind defined outside this module (the store and persistence read ``RESOURCE_TYPES``).

    Must run at import time, before the store creates any scope: ``api_models/__init__`` imports every
    such module.
    """
    RESOURCE_TYPES[cls.kind] = cls
    return cls
