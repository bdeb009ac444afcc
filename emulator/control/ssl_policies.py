"""DescribeSSLPolicies: AWS's predefined security policies (data in ``api_models.ssl_policies``)."""

from __future__ import annotations

from api_models.ssl_policies import SSL_POLICIES, SslPolicy
from emulator.control.context import Context, Request, Result, operation
from emulator.control.paging import paginate
from emulator.errors import AwsError


def policy_or_error(name: str) -> SslPolicy:
    """The named policy; ``SSLPolicyNotFound`` as CreateListener/ModifyListener also answer it."""
    policy = SSL_POLICIES.get(name)
    if policy is None:
        raise AwsError("SSLPolicyNotFound", f"SSL policy '{name}' not found")  # wording inferred
    return policy


@operation("DescribeSSLPolicies")
def describe_ssl_policies(ctx: Context, req: Request) -> Result:
    names = req.get("Names")
    policies = [policy_or_error(n) for n in names] if names else list(SSL_POLICIES.values())
    lb_type = req.get("LoadBalancerType")
    if lb_type:
        policies = [p for p in policies if lb_type in p.load_balancer_types]
    page, next_marker = paginate(policies, req)
    return {"SslPolicies": [p.to_aws() for p in page], "NextMarker": next_marker}
