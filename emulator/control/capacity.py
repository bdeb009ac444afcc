"""Describe/ModifyCapacityReservation (LCU reservation) and ModifyIpPools: a load balancer's provisioning.

AWS ("Request Load balancer Capacity Unit reservation"): capacity is reserved for the region and spread
evenly over the load balancer's zones; increases are unlimited, decreases are allowed twice a day; NLBs
with TLS listeners cannot reserve. The emulator provisions a request at once, so no request is ever
``pending`` (and CapacityReservationPending never arises).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from api_models.capacity import CapacityReservation
from api_models.quotas import quota
from api_models.resources import LoadBalancer
from emulator.control.context import Context, Request, Result, operation
from emulator.control.lookups import listeners_of, load_balancer_or_error
from emulator.errors import AwsError, validation_error

DAILY_DECREASES = 2
_DAY = timedelta(days=1)
_UNITS_QUOTA = {"application": "reserved-lcus-per-application-load-balancer"}


def _recent_decreases(reservation: CapacityReservation | None, now: datetime) -> tuple[datetime, ...]:
    return tuple(t for t in (reservation.decreases if reservation else ()) if now - t < _DAY)


def _answer(ctx: Context, lb: LoadBalancer, reservation: CapacityReservation | None) -> Result:
    decreases_left = DAILY_DECREASES - len(_recent_decreases(reservation, ctx.now))
    if reservation is None or reservation.capacity_units == 0:  # never reserved, or reset
        return {"DecreaseRequestsRemaining": decreases_left, "CapacityReservationState": []}
    per_zone = reservation.capacity_units / max(len(lb.AvailabilityZones), 1)
    return {
        "LastModifiedTime": reservation.last_modified,
        "DecreaseRequestsRemaining": decreases_left,
        "MinimumLoadBalancerCapacity": {"CapacityUnits": reservation.capacity_units},
        "CapacityReservationState": [
            {"AvailabilityZone": zone["ZoneName"], "EffectiveCapacityUnits": per_zone, "State": {"Code": "provisioned"}}
            for zone in lb.AvailabilityZones
        ],
    }


def _reservation(ctx: Context, lb: LoadBalancer) -> CapacityReservation | None:
    return ctx.tx.get(CapacityReservation, CapacityReservation.key_for(lb.LoadBalancerArn))


@operation("DescribeCapacityReservation")
def describe_capacity_reservation(ctx: Context, req: Request) -> Result:
    lb = load_balancer_or_error(ctx, req["LoadBalancerArn"])
    return _answer(ctx, lb, _reservation(ctx, lb))


def _check_request(ctx: Context, lb: LoadBalancer, req: Request) -> int | None:
    """The requested units (None for a reset), once the request is known to be acceptable."""
    units = (req.get("MinimumLoadBalancerCapacity") or {}).get("CapacityUnits")
    reset = req.get("ResetCapacityReservation", False)
    if (units is None) == (not reset):
        raise validation_error("You must specify either MinimumLoadBalancerCapacity or ResetCapacityReservation")  # wording inferred
    if lb.Type == "network" and any(listener.Protocol == "TLS" for listener in listeners_of(ctx, lb.LoadBalancerArn)):
        raise AwsError("InvalidConfigurationRequest", "Capacity reservation is not supported for load balancers with TLS listeners")  # wording inferred
    if units is not None and units < 1:
        raise validation_error("CapacityUnits must be greater than 0")  # wording inferred
    limit = quota(_UNITS_QUOTA.get(lb.Type, "reserved-lcus-per-network-load-balancer"))
    if units is not None and units > limit:
        raise AwsError("CapacityUnitsLimitExceeded", f"The requested capacity units exceed the limit of '{limit}'")  # wording inferred
    return units


@operation("ModifyCapacityReservation")
def modify_capacity_reservation(ctx: Context, req: Request) -> Result:
    lb = load_balancer_or_error(ctx, req["LoadBalancerArn"])
    units = _check_request(ctx, lb, req) or 0  # a reset is a reservation of 0 units
    current = _reservation(ctx, lb)
    decreases = _recent_decreases(current, ctx.now)
    if current is not None and units < current.capacity_units:
        if len(decreases) >= DAILY_DECREASES:
            raise AwsError(
                "CapacityDecreaseRequestLimitExceeded", "You've exceeded the daily capacity decrease limit for this reservation."
            )
        decreases += (ctx.now,)
    reservation = CapacityReservation(
        account=ctx.account, region=ctx.region, load_balancer_arn=lb.LoadBalancerArn,
        capacity_units=units, last_modified=ctx.now, decreases=decreases,
    )
    ctx.tx.put(reservation)
    return _answer(ctx, lb, reservation)


@operation("ModifyIpPools")
def modify_ip_pools(ctx: Context, req: Request) -> Result:
    """ALB only: IPAM pools the load balancer takes its IPv4 addresses from ("RemoveIpamPools": ["ipv4"])."""
    lb = load_balancer_or_error(ctx, req["LoadBalancerArn"])
    if lb.Type != "application":
        raise validation_error("IPAM pools are only supported for Application Load Balancers")  # wording inferred
    pools = dict(lb.IpamPools or {})
    if "ipv4" in (req.get("RemoveIpamPools") or []):
        pools.pop("Ipv4IpamPoolId", None)
    pools |= req.get("IpamPools") or {}
    ctx.tx.put(lb.model_copy(update={"IpamPools": pools or None}))
    return {"IpamPools": pools or None}
