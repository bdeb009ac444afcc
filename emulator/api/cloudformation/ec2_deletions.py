"""Deleting the EC2 resources a CDK VPC is made of, which moto 5.2's CloudFormation creates but never deletes.

moto gives AWS::EC2::RouteTable, ::Route, ::SubnetRouteTableAssociation, ::InternetGateway and
::VPCGatewayAttachment no deletion, so deleting a stack with a VPC (every CDK ``ec2.Vpc``) leaves them and
then fails on the VPC ("has dependencies"). moto's stack deletion first calls a resource's
``delete(account_id, region_name)``: this module gives those five classes one, through moto's EC2 backend.
A deletion that must wait for another (a gateway still attached) fails and moto retries it on its next pass;
one whose resource went with another (a route with its table) succeeds.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.route_tables import Route, RouteTable
from moto.ec2.models.subnets import SubnetRouteTableAssociation
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment


def _route_table(self: RouteTable, account_id: str, region_name: str) -> None:
    backend = ec2_backends[account_id][region_name]
    if self.id in backend.route_tables:
        backend.delete_route_table(self.id)


def _route(self: Route, account_id: str, region_name: str) -> None:
    backend = ec2_backends[account_id][region_name]
    table = backend.route_tables.get(self.route_table.id)
    if table is None or all(route.id != self.id for route in table.routes):
        return
    prefix_list = self.destination_prefix_list.id if self.destination_prefix_list else None
    backend.delete_route(  # (None for an IPv6 route: moto's own lookup key)
        self.route_table.id, self.destination_cidr_block, self.destination_ipv6_cidr_block, prefix_list)  # type: ignore[arg-type]


def _subnet_association(self: SubnetRouteTableAssociation, account_id: str, region_name: str) -> None:
    ec2_backends[account_id][region_name].subnet_associations.pop(f"{self.route_table_id}:{self.subnet_id}", None)


def _internet_gateway(self: InternetGateway, account_id: str, region_name: str) -> None:
    backend = ec2_backends[account_id][region_name]
    if self.id in backend.internet_gateways:
        backend.delete_internet_gateway(self.id)


def _gateway_attachment(self: VPCGatewayAttachment, account_id: str, region_name: str) -> None:
    backend = ec2_backends[account_id][region_name]
    if self.gateway_id and self.gateway_id.startswith("igw-"):
        gateway = backend.internet_gateways.get(self.gateway_id)
        if gateway is not None and gateway.vpc is not None:
            backend.detach_internet_gateway(self.gateway_id, self.vpc_id)
    elif self.gateway_id:
        backend.detach_vpn_gateway(self.gateway_id, self.vpc_id)


_DELETIONS: tuple[tuple[type, Any], ...] = (
    (RouteTable, _route_table), (Route, _route), (SubnetRouteTableAssociation, _subnet_association),
    (InternetGateway, _internet_gateway), (VPCGatewayAttachment, _gateway_attachment),
)


_METHOD = "delete"  # what moto's stack deletion calls first (ResourceMap._delete_resource)


def install() -> None:
    for cls, deletion in _DELETIONS:
        if not hasattr(cls, _METHOD):  # a later moto that deletes them itself keeps its own
            setattr(cls, _METHOD, deletion)
