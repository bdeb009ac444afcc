"""CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer, SetSubnets, SetSecurityGroups, SetIpAddressType.

Each load balancer gets its own loopback address (see ``emulator.dataplane.addresses``) so that two of them can both
listen on port 80; its State is computed from ``active_at`` so provisioning needs no background job.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from api_models import identifiers as ids
from api_models.attributes import load_balancer_defaults
from api_models.capacity import CapacityReservation
from api_models.resources import LoadBalancer
from api_models.validation import validate_load_balancer_name
from emulator.control import aws_services, limits, quic
from emulator.control.context import Context, Request, Result, operation
from emulator.control.listeners import remove_listener
from emulator.control.lookups import listeners_of, load_balancer_or_error
from emulator.control.paging import instant, paginate
from emulator.control.tags import merge_tags
from emulator.errors import AwsError, validation_error

_ADDRESS_POOL = ipaddress.ip_network("127.1.0.0/16")


def describe(ctx: Context, lb: LoadBalancer) -> dict[str, Any]:
    return lb.to_aws() | {"State": lb.state(ctx.now)}


@operation("CreateLoadBalancer")
def create_load_balancer(ctx: Context, req: Request) -> Result:
    name, lb_type = req["Name"], req.get("Type", "application")
    validate_load_balancer_name(name)
    _check_gateway_members(lb_type, req)
    if req.get("IpamPools") and lb_type != "application":  # (as ModifyIpPools: IPAM pools are ALB-only)
        raise validation_error("IPAM pools are only supported for Application Load Balancers")  # wording inferred
    scheme = None if lb_type == "gateway" else req.get("Scheme", "internet-facing")
    ip_type = req.get("IpAddressType", "ipv4")
    _validate_ip_address_type(lb_type, scheme, ip_type)
    vpc_id, zones = _availability_zones(ctx, req, lb_type)
    groups = _security_groups(ctx, req.get("SecurityGroups"), lb_type, vpc_id)
    tags = merge_tags({}, req.get("Tags"))
    existing = next((lb for lb in ctx.tx.all(LoadBalancer) if lb.LoadBalancerName == name), None)
    if existing is not None:
        # Create is idempotent: identical settings return the existing load balancer (API Reference,
        # CreateLoadBalancer: "This operation is idempotent").
        if (existing.Type, existing.Scheme, existing.IpAddressType, existing.AvailabilityZones, existing.SecurityGroups) != (
            lb_type, scheme, ip_type, zones, groups
        ):
            raise AwsError("DuplicateLoadBalancerName", "A load balancer with the specified name already exists.")
        return {"LoadBalancers": [describe(ctx, existing)]}
    limits.check_load_balancers(ctx, lb_type)
    lb = _new_load_balancer(ctx, req, name, lb_type, scheme, ip_type, vpc_id, zones, groups, tags)
    ctx.tx.put(lb)
    return {"LoadBalancers": [lb.to_aws() | {"State": {"Code": "provisioning"}}]}


def _check_gateway_members(lb_type: str, req: Request) -> None:
    """API reference, CreateLoadBalancer: a Gateway Load Balancer takes no scheme and no security groups."""
    if lb_type != "gateway":
        return
    if "Scheme" in req:
        raise validation_error("A scheme cannot be specified for load balancers of type 'gateway'")  # wording inferred
    if req.get("SecurityGroups"):
        raise validation_error("Security groups cannot be specified for load balancers of type 'gateway'")  # wording inferred


def _new_load_balancer(
    ctx: Context, req: Request, name: str, lb_type: str, scheme: str | None, ip_type: str,
    vpc_id: str, zones: list[dict[str, Any]], groups: list[str] | None, tags: dict[str, str],
) -> LoadBalancer:
    lb_id = ids.new_id()
    return LoadBalancer(
        account=ctx.account, region=ctx.region, tags=tags,
        LoadBalancerArn=ids.load_balancer_arn(ctx.region, ctx.account, lb_type, name, lb_id),
        LoadBalancerName=name,
        DNSName=ids.dns_name(lb_type, scheme, name, lb_id, ctx.region) if scheme else None,
        CanonicalHostedZoneId=ids.canonical_hosted_zone_id(lb_type, ctx.region) if scheme else None,
        CreatedTime=ctx.now, Scheme=scheme, VpcId=vpc_id, Type=lb_type, IpAddressType=ip_type,
        AvailabilityZones=zones, SecurityGroups=groups,
        CustomerOwnedIpv4Pool=req.get("CustomerOwnedIpv4Pool"),
        IpamPools=req.get("IpamPools") or None,  # (ALB only: checked with the other create settings)
        EnablePrefixForIpv6SourceNat=req.get("EnablePrefixForIpv6SourceNat"),
        attributes=load_balancer_defaults(lb_type, scheme),
        address=_free_address(ctx),
        active_at=ctx.now + timedelta(seconds=ctx.timing.provisioning_seconds),
    )


def _free_address(ctx: Context) -> str:
    """The first 127.1.X.Y no load balancer in any account or region uses."""
    used = {lb.address for lb in ctx.services.store.snapshot(LoadBalancer)}
    used |= {lb.address for lb in ctx.tx.all(LoadBalancer)}
    for address in _ADDRESS_POOL.hosts():
        if str(address) not in used and int(address) & 0xFF not in (0, 255):
            return str(address)
    raise AwsError("TooManyLoadBalancers", "The quota for the number of load balancers has been reached")


def _validate_ip_address_type(lb_type: str, scheme: str | None, ip_type: str) -> None:
    if lb_type != "application" and ip_type == "dualstack-without-public-ipv4":
        raise AwsError("InvalidConfigurationRequest", f"IP address type '{ip_type}' is only supported for application load balancers")  # wording inferred
    if scheme == "internal" and ip_type != "ipv4":
        # API reference, CreateLoadBalancer IpAddressType: "Internal load balancers must use ipv4."
        raise AwsError("InvalidConfigurationRequest", "Internal load balancers must use ipv4")


def _availability_zones(ctx: Context, req: Request, lb_type: str) -> tuple[str, list[dict[str, Any]]]:
    """The VPC and ``AvailabilityZones`` that ``Subnets`` or ``SubnetMappings`` describe."""
    if req.get("Subnets") and req.get("SubnetMappings"):
        raise validation_error("You can specify subnets or subnet mappings, not both")  # wording inferred
    mappings = req.get("SubnetMappings") or [{"SubnetId": s} for s in req.get("Subnets") or []]
    if not mappings:
        raise validation_error("At least one subnet must be specified")  # wording inferred
    zones: list[dict[str, Any]] = []
    vpcs: set[str] = set()
    for mapping in mappings:
        if not mapping.get("SubnetId"):
            raise validation_error("A subnet ID must be specified in each subnet mapping")  # wording inferred
        subnet = aws_services.subnet(ctx, mapping["SubnetId"])
        _check_allocation(ctx, lb_type, mapping.get("AllocationId"))
        if any(zone["ZoneName"] == subnet.availability_zone for zone in zones):
            raise AwsError("InvalidConfigurationRequest", "More than 1 subnet cannot be specified for 1 availability zone")
        vpcs.add(subnet.vpc_id)
        zones.append({"ZoneName": subnet.availability_zone, "SubnetId": subnet.id, "LoadBalancerAddresses": _addresses(mapping)})
    if len(vpcs) > 1:
        raise AwsError("InvalidSubnet", "All subnets must belong to the same VPC")  # wording inferred
    if lb_type == "application" and len(zones) < 2:
        raise AwsError(
            "InvalidConfigurationRequest", "At least two subnets in two different Availability Zones must be specified"
        )
    return vpcs.pop(), zones


def _check_allocation(ctx: Context, lb_type: str, allocation_id: str | None) -> None:
    """Only NLBs take Elastic IPs (API reference, CreateLoadBalancer SubnetMappings), and they must exist."""
    if allocation_id is None:
        return
    if lb_type != "network":
        raise AwsError(
            "InvalidConfigurationRequest", f"Elastic IP addresses cannot be specified for load balancers of type '{lb_type}'"
        )  # wording inferred
    aws_services.require_allocation(ctx, allocation_id)


def _addresses(mapping: dict[str, Any]) -> list[dict[str, str]]:
    """An NLB's fixed addresses per subnet, as given in SubnetMappings (none otherwise)."""
    address = {
        out: mapping[member]
        for member, out in (("AllocationId", "AllocationId"), ("PrivateIPv4Address", "PrivateIPv4Address"), ("IPv6Address", "IPv6Address"))
        if mapping.get(member)
    }
    return [address] if address else []


def _security_groups(ctx: Context, groups: list[str] | None, lb_type: str, vpc_id: str) -> list[str] | None:
    """ALBs default to the VPC's default group; NLBs have groups only when created with them; GWLBs never."""
    if groups is None:
        default = aws_services.default_security_group(ctx, vpc_id) if lb_type == "application" else None
        return [default] if default else None
    aws_services.require_security_groups(ctx, groups, vpc_id)
    return groups


@operation("DescribeLoadBalancers")
def describe_load_balancers(ctx: Context, req: Request) -> Result:
    arns, names = req.get("LoadBalancerArns"), req.get("Names")
    if arns and names:
        raise validation_error("Load balancer ARNs and load balancer names cannot be specified at the same time")  # wording inferred
    if arns:
        found = [load_balancer_or_error(ctx, arn) for arn in arns]
    elif names:
        found = _by_names(ctx, names)
    else:
        found = ctx.tx.all(LoadBalancer)
    page, marker = paginate(found, req, key=lambda lb: (instant(lb.CreatedTime), lb.LoadBalancerArn))
    return {"LoadBalancers": [describe(ctx, lb) for lb in page], "NextMarker": marker}


def _by_names(ctx: Context, names: list[str]) -> list[LoadBalancer]:
    by_name = {lb.LoadBalancerName: lb for lb in ctx.tx.all(LoadBalancer)}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise AwsError("LoadBalancerNotFound", f"Load balancers '[{', '.join(missing)}]' not found")
    return [by_name[name] for name in dict.fromkeys(names)]


@operation("DeleteLoadBalancer")
def delete_load_balancer(ctx: Context, req: Request) -> Result:
    lb = ctx.tx.get(LoadBalancer, req["LoadBalancerArn"])
    if lb is None:
        return None  # API Reference, DeleteLoadBalancer: a missing one deletes fine
    if lb.attributes.get("deletion_protection.enabled") == "true":
        raise AwsError(
            "OperationNotPermitted",
            f"Load balancer '{lb.LoadBalancerArn}' cannot be deleted because deletion protection is enabled",
        )
    for listener in listeners_of(ctx, lb.LoadBalancerArn):
        remove_listener(ctx, listener)  # its target groups stay, now serving no load balancer
    reservation = ctx.tx.get(CapacityReservation, CapacityReservation.key_for(lb.LoadBalancerArn))
    if reservation is not None:
        ctx.tx.delete(reservation)  # a reservation belongs to its load balancer
    ctx.tx.delete(lb)
    return None


@operation("SetSubnets")
def set_subnets(ctx: Context, req: Request) -> Result:
    lb = load_balancer_or_error(ctx, req["LoadBalancerArn"])
    ip_type = req.get("IpAddressType", lb.IpAddressType)
    _validate_ip_address_type(lb.Type, lb.Scheme, ip_type)
    vpc_id, zones = _availability_zones(ctx, req, lb.Type)
    if vpc_id != lb.VpcId:
        raise AwsError("InvalidSubnet", f"The subnets must belong to the load balancer's VPC '{lb.VpcId}'")  # wording inferred
    update = {"AvailabilityZones": zones, "IpAddressType": ip_type}
    if "EnablePrefixForIpv6SourceNat" in req:
        update["EnablePrefixForIpv6SourceNat"] = req["EnablePrefixForIpv6SourceNat"]
    updated = lb.model_copy(update=update)
    ctx.tx.put(updated)
    return {"AvailabilityZones": zones, "IpAddressType": ip_type, "EnablePrefixForIpv6SourceNat": updated.EnablePrefixForIpv6SourceNat}


@operation("SetSecurityGroups")
def set_security_groups(ctx: Context, req: Request) -> Result:
    lb = load_balancer_or_error(ctx, req["LoadBalancerArn"])
    if lb.Type == "gateway":
        raise AwsError("InvalidConfigurationRequest", "Security groups are not supported for load balancers of type 'gateway'")  # wording inferred
    if lb.Type == "network" and lb.SecurityGroups is None:
        raise AwsError(
            "InvalidConfigurationRequest",
            "You cannot set security groups on a Network Load Balancer which was created without any security groups.",
        )  # wording inferred
    aws_services.require_security_groups(ctx, req["SecurityGroups"], lb.VpcId)
    update: dict[str, Any] = {"SecurityGroups": req["SecurityGroups"]}
    if "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic" in req:
        update["EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] = req["EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"]
    updated = lb.model_copy(update=update)
    ctx.tx.put(updated)
    return {
        "SecurityGroupIds": updated.SecurityGroups,
        "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic": updated.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic,
    }


@operation("SetIpAddressType")
def set_ip_address_type(ctx: Context, req: Request) -> Result:
    lb = load_balancer_or_error(ctx, req["LoadBalancerArn"])
    _validate_ip_address_type(lb.Type, lb.Scheme, req["IpAddressType"])
    quic.check_ip_address_type(req["IpAddressType"], listeners_of(ctx, lb.LoadBalancerArn))
    ctx.tx.put(lb.model_copy(update={"IpAddressType": req["IpAddressType"]}))
    return {"IpAddressType": req["IpAddressType"]}
