"""Lookups in moto's in-process EC2 and ACM backends, the rest of the offline AWS the emulator serves.

Subnets, VPCs, security groups and instances live in moto's EC2 (which creates a default VPC with one
subnet per AZ from the start); certificates live in moto's ACM. Each lookup answers with ELBv2's own
error codes, as ELBv2 does when it finds another service's resource missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from api_models.identifiers import arn_region_account
from emulator.control.context import Context
from emulator.errors import AwsError, validation_error


@dataclass(frozen=True, slots=True)
class SubnetInfo:
    id: str
    vpc_id: str
    availability_zone: str


# moto's EC2 takes most of a second to import, so it is imported on first use (and warmed up in the
# background by the server) instead of at start-up.
def _ec2(ctx: Context) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[ctx.account][ctx.region]


def _ec2_errors() -> ModuleType:
    from moto.ec2 import exceptions

    return exceptions


def subnet(ctx: Context, subnet_id: str) -> SubnetInfo:
    try:
        found = _ec2(ctx).get_subnet(subnet_id)
    except _ec2_errors().InvalidSubnetIdError:
        raise AwsError("SubnetNotFound", f"The subnet ID '{subnet_id}' is not found") from None
    return SubnetInfo(found.id, found.vpc_id, found.availability_zone)


def require_vpc(ctx: Context, vpc_id: str) -> None:
    try:
        _ec2(ctx).get_vpc(vpc_id)
    except _ec2_errors().InvalidVPCIdError:
        raise validation_error(f"The VPC ID '{vpc_id}' is not found") from None


def default_security_group(ctx: Context, vpc_id: str) -> str | None:
    group = _ec2(ctx).get_default_security_group(vpc_id)
    return group.id if group is not None else None


def require_security_groups(ctx: Context, group_ids: list[str], vpc_id: str) -> None:
    for group_id in group_ids:
        group = _ec2(ctx).get_security_group_from_id(group_id)
        if group is None:
            raise AwsError("InvalidSecurityGroup", f"The security group '{group_id}' does not exist")
        if group.vpc_id != vpc_id:  # AWS: 400 InvalidConfigurationRequest (InvalidSecurityGroup: no such group)
            raise AwsError(
                "InvalidConfigurationRequest", f"Security group '{group_id}' does not belong to VPC '{vpc_id}'"
            )


def require_allocation(ctx: Context, allocation_id: str) -> None:
    """An Elastic IP allocation named in SubnetMappings must exist in the caller's EC2."""
    try:
        _ec2(ctx).describe_addresses(allocation_ids=[allocation_id])
    except _ec2_errors().InvalidAllocationIdError:
        raise AwsError("AllocationIdNotFound", f"The allocation ID '{allocation_id}' does not exist") from None  # wording inferred


def instance_state(ctx: Context, instance_id: str) -> str | None:
    """The instance's state name (``running``, ``stopped``…), or None when EC2 does not know it."""
    try:
        return _ec2(ctx).get_instance(instance_id).state
    except _ec2_errors().InvalidInstanceIdError:
        return None


def require_certificate(ctx: Context, certificate_arn: str) -> None:
    """The certificate must exist: in moto's ACM, or for an IAM server certificate ARN in moto's IAM (uploaded
    with ``iam upload-server-certificate``), so that the listener can serve it."""
    try:
        if ":iam::" in certificate_arn:
            from moto.iam.models import iam_backends

            _, partition, _, _, account, _ = certificate_arn.split(":", 5)
            if not any(c.arn == certificate_arn for c in iam_backends[account][partition].certificates.values()):
                raise KeyError(certificate_arn)
            return
        region, account = arn_region_account(certificate_arn)
        from moto.acm.models import acm_backends

        acm_backends[account or ctx.account][region or ctx.region].get_certificate(certificate_arn)
    except Exception:  # moto raises its own CertificateNotFound, or KeyError for an unknown region
        raise AwsError("CertificateNotFound", f"Certificate '{certificate_arn}' not found") from None
