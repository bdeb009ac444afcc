"""A load balancer's reserved capacity (ModifyCapacityReservation): the minimum LCUs AWS keeps provisioned.

Stored as its own kind keyed by the load balancer's ARN, so the load balancer model stays as AWS returns
it from DescribeLoadBalancers.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from api_models.resources import Resource, register_resource_type


class CapacityReservation(Resource):
    kind: ClassVar[str] = "capacity-reservation"

    load_balancer_arn: str
    capacity_units: int
    last_modified: datetime
    decreases: tuple[datetime, ...] = ()  # when each decrease was requested: AWS allows two a day

    @property
    def key(self) -> str:
        return self.key_for(self.load_balancer_arn)

    @staticmethod
    def key_for(load_balancer_arn: str) -> str:
        """The store key of a load balancer's reservation (one per load balancer)."""
        return f"capacity|{load_balancer_arn}"


register_resource_type(CapacityReservation)
