"""DescribeAccountLimits and GetResourcePolicy: what the account may have, and who else may use it.

Limits come from ``api_models.quotas`` (the same numbers the Create* handlers enforce). Resource policies
exist on AWS only for trust stores shared through AWS RAM; the emulator has no RAM, so every existing
resource has no policy and GetResourcePolicy answers without a ``Policy`` member.
"""

from __future__ import annotations

from api_models.quotas import account_limits
from api_models.resources import Listener, LoadBalancer, Resource, Rule, TargetGroup
from api_models.trust_stores import TrustStore
from emulator.control.context import Context, Request, Result, operation
from emulator.control.paging import paginate
from emulator.errors import AwsError

# ARN resource-type segment -> stored kind (rule before listener: ":listener-rule/" contains ":listener").
_KIND_BY_SEGMENT: tuple[tuple[str, type[Resource]], ...] = (
    (":truststore/", TrustStore),
    (":loadbalancer/", LoadBalancer),
    (":targetgroup/", TargetGroup),
    (":listener-rule/", Rule),
    (":listener/", Listener),
)


@operation("DescribeAccountLimits")
def describe_account_limits(ctx: Context, req: Request) -> Result:
    # Max is a string in the output shape (AWS returns e.g. "50").
    limits = [{"Name": name, "Max": str(value)} for name, value in account_limits().items()]
    page, next_marker = paginate(limits, req)
    return {"Limits": page, "NextMarker": next_marker}


def _exists(ctx: Context, arn: str) -> bool:
    kind = next((cls for segment, cls in _KIND_BY_SEGMENT if segment in arn), None)
    return kind is not None and ctx.tx.get(kind, arn) is not None


@operation("GetResourcePolicy")
def get_resource_policy(ctx: Context, req: Request) -> Result:
    arn = req["ResourceArn"]
    if not _exists(ctx, arn):
        raise AwsError("ResourceNotFound", f"The specified resource '{arn}' does not exist.")  # wording inferred
    return {}
