"""AWS's default Elastic Load Balancing quotas: the one source DescribeAccountLimits reports and handlers enforce.

Names and defaults as DescribeAccountLimits returns them (AWS CLI example ``describe-account-limits``) and
as the quota pages list them ("Quotas for your Application Load Balancers" / "... Network Load Balancers"
/ "... Gateway Load Balancers"). ``ACCOUNT_LIMITS`` keeps AWS's order; ``OTHER_QUOTAS`` are documented
quotas DescribeAccountLimits does not list, enforced all the same.

AWS raises quotas on request (Service Quotas); the emulator's equivalent is the environment variable
``ELBV2_EMULATOR_QUOTAS``, e.g. ``application-load-balancers=1000,target-groups=5000``, read once.
"""

from __future__ import annotations

import os
from functools import cache
from types import MappingProxyType
from typing import Final

OVERRIDES_VARIABLE: Final = "ELBV2_EMULATOR_QUOTAS"

ACCOUNT_LIMITS: Final = MappingProxyType({
    "application-load-balancers": 50,
    "target-groups": 3000,
    "targets-per-application-load-balancer": 1000,
    "listeners-per-application-load-balancer": 50,
    "rules-per-application-load-balancer": 100,
    "network-load-balancers": 50,
    "targets-per-network-load-balancer": 3000,
    "targets-per-availability-zone-per-network-load-balancer": 500,
    "listeners-per-network-load-balancer": 50,
    "condition-values-per-alb-rule": 5,
    "condition-wildcards-per-alb-rule": 5,
    "target-groups-per-application-load-balancer": 100,
    "target-groups-per-action-on-application-load-balancer": 5,
    # 1 until NLBs took weighted target groups (NLB guide, document history, November 19 2025: "default action
    # with weighted target groups"); the new default is not published: the ALB's 5 is assumed (inferred).
    "target-groups-per-action-on-network-load-balancer": 5,
    "certificates-per-application-load-balancer": 25,
    "certificates-per-network-load-balancer": 25,
    "targets-per-target-group": 1000,
    "target-id-registrations-per-application-load-balancer": 1000,
    "network-load-balancer-enis-per-vpc": 1200,
    "gateway-load-balancers": 100,
    "gateway-load-balancers-per-vpc": 100,
    "geneve-target-groups": 100,
    "targets-per-availability-zone-per-gateway-load-balancer": 300,
})

OTHER_QUOTAS: Final = MappingProxyType({
    "tags-per-resource": 50,  # AddTags / Create*: TooManyTags
    "trust-stores": 20,  # "Trust stores per account": TooManyTrustStores
    "ca-certificates-per-trust-store": 25,  # InvalidCaCertificatesBundle beyond it
    "ca-certificate-bytes": 16 * 1024,  # "CA certificate size 16 KB"
    "revocation-entries-per-trust-store": 500_000,  # TooManyTrustStoreRevocationEntries
    "revocation-lists-per-trust-store": 30,
    "revocation-list-bytes": 50 * 1024 * 1024,  # "Revocation list file size 50 MB"
    "mtls-verify-listeners-per-load-balancer": 2,
    "reserved-lcus-per-application-load-balancer": 15_000,  # CapacityUnitsLimitExceeded
    "reserved-lcus-per-network-load-balancer": 45_000,  # inferred: the NLB quota page lists reserved NLCUs separately
    # A Gateway Load Balancer's listener has no port, so it can have only one (inferred); it forwards to one group.
    "listeners-per-gateway-load-balancer": 1,
    "target-groups-per-action-on-gateway-load-balancer": 1,
})


@cache
def _overrides() -> dict[str, int]:
    """``name=value,...`` from the environment; an unknown name or a non-number stops the emulator."""
    overrides: dict[str, int] = {}
    for item in filter(None, os.environ.get(OVERRIDES_VARIABLE, "").split(",")):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in ACCOUNT_LIMITS and name not in OTHER_QUOTAS:
            raise ValueError(f"{OVERRIDES_VARIABLE}: unknown quota '{name}'")
        overrides[name] = int(value)
    return overrides


def quota(name: str) -> int:
    """A quota's value by its AWS name; KeyError for an unknown name (a programming error)."""
    default = ACCOUNT_LIMITS[name] if name in ACCOUNT_LIMITS else OTHER_QUOTAS[name]
    return _overrides().get(name, default)


def account_limits() -> dict[str, int]:
    """What DescribeAccountLimits reports: AWS's list, in AWS's order, with any raised values."""
    return {name: quota(name) for name in ACCOUNT_LIMITS}
