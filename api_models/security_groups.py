"""A load balancer's security groups as the data plane enforces them: their inbound rules, sources resolved.

EC2 keeps the rules (moto, on the same endpoint); ``emulator.local_aws.security_groups`` reads them into this
shape, so the data plane never imports moto. Each rule's sources are resolved to networks: its IPv4 and IPv6
CIDRs, the entries of a referenced prefix list, and the addresses of the members of a referenced security
group (AWS "Security group rules": "Sources or destinations").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ALL_PROTOCOLS = "-1"


@dataclass(frozen=True, slots=True)
class InboundRule:
    group_id: str
    protocol: str  # "-1" (all traffic), "tcp", "udp", "icmp", ... as EC2 stores it
    from_port: int | None  # None with protocol "-1"
    to_port: int | None
    networks: tuple[str, ...]  # CIDRs allowed by this rule, sources resolved
    source: str  # the rule's source as the user wrote it (a CIDR, a prefix list id, a group id): for log lines

    def covers(self, transport: str, port: int) -> bool:
        """Whether the rule opens ``port`` for ``transport`` ("tcp" or "udp")."""
        if self.protocol == ALL_PROTOCOLS:
            return True
        if self.protocol != transport:
            return False
        return self.from_port is not None and self.to_port is not None and self.from_port <= port <= self.to_port


@dataclass(frozen=True, slots=True)
class SecurityGroupView:
    group_ids: tuple[str, ...]
    rules: tuple[InboundRule, ...]
    default_group: str | None = None  # set when one of the groups is its VPC's default group


# (account, region, security group ids) -> their inbound rules, read at every reconcile pass.
SecurityGroupSource = Callable[[str, str, tuple[str, ...]], SecurityGroupView]
