"""Add/Remove/DescribeListenerCertificates: an HTTPS or TLS listener's certificate list for SNI
(ALB User Guide, "SSL certificates for your Application Load Balancer").

The default certificate is ``Listener.Certificates[0]`` (set by Create/ModifyListener); the list kept here is
``Listener.extra_certificates``. DescribeListenerCertificates shows the default first with ``IsDefault: true``
and then the list, so a default certificate that was also added appears twice, as on AWS.
"""

from __future__ import annotations

from typing import Any

from api_models.quotas import quota
from api_models.resources import Listener, LoadBalancer
from emulator.control import aws_services
from emulator.control.context import Context, Request, Result, operation
from emulator.control.listeners import SECURE
from emulator.control.lookups import listener_or_error, listeners_of, load_balancer_or_error
from emulator.control.paging import paginate
from emulator.errors import AwsError, validation_error

# "Certificates per load balancer (excluding default certificates)" in each type's quota page.
_CERTIFICATE_QUOTA = {
    "application": "certificates-per-application-load-balancer",
    "network": "certificates-per-network-load-balancer",
}


def _requested_arns(certificates: list[dict[str, Any]]) -> list[str]:
    """The ARNs asked for, in order and without repeats; every entry must name one."""
    arns: list[str] = []
    for certificate in certificates:
        arn = certificate.get("CertificateArn")
        if not arn:
            raise validation_error("A certificate ARN must be specified")  # wording inferred
        if arn not in arns:
            arns.append(arn)
    return arns


def _secure_listener(ctx: Context, arn: str) -> Listener:
    listener = listener_or_error(ctx, arn)
    if listener.Protocol not in SECURE:
        raise validation_error("Certificates can only be added to HTTPS or TLS listeners")  # wording inferred
    return listener


def _default_arn(listener: Listener) -> str | None:
    return (listener.Certificates or [{}])[0].get("CertificateArn")


def _check_quota(ctx: Context, lb: LoadBalancer, adding: int) -> None:
    """The quota counts the non-default certificates of all the load balancer's listeners."""
    limit = quota(_CERTIFICATE_QUOTA[lb.Type])
    in_use = sum(len(listener.extra_certificates) for listener in listeners_of(ctx, lb.LoadBalancerArn))
    if in_use + adding > limit:
        raise AwsError("TooManyCertificates", f"You've reached the limit on the number of certificates per load balancer, '{limit}'")  # wording inferred


@operation("AddListenerCertificates")
def add_listener_certificates(ctx: Context, req: Request) -> Result:
    """Adds to the SNI list; a certificate already there is left as it is."""
    listener = _secure_listener(ctx, req["ListenerArn"])
    if any(certificate.get("IsDefault") for certificate in req["Certificates"]):
        # Observed in boto/boto3 issue 3727: the default certificate is set with ModifyListener only.
        raise validation_error("You cannot set the isDefault parameter for a certificate.")
    arns = _requested_arns(req["Certificates"])
    for arn in arns:
        aws_services.require_certificate(ctx, arn)
    new = [arn for arn in arns if arn not in listener.extra_certificates]
    _check_quota(ctx, load_balancer_or_error(ctx, listener.LoadBalancerArn), len(new))
    ctx.tx.put(listener.model_copy(update={"extra_certificates": listener.extra_certificates + new}))
    return {"Certificates": [{"CertificateArn": arn} for arn in arns]}  # as the AWS CLI example echoes them


@operation("RemoveListenerCertificates")
def remove_listener_certificates(ctx: Context, req: Request) -> Result:
    listener = _secure_listener(ctx, req["ListenerArn"])
    arns = _requested_arns(req["Certificates"])
    for arn in arns:
        if arn == _default_arn(listener):
            # terraform-provider-aws (listener_certificate.go) matches this wording.
            raise AwsError("OperationNotPermitted", "Default certificate cannot be removed")
        if arn not in listener.extra_certificates:
            # Observed in terraform-provider-aws issue 35403: AWS answers CertificateNotFound for a certificate not in the list.
            raise AwsError("CertificateNotFound", f"Certificate '{arn}' not found")  # wording inferred
    kept = [arn for arn in listener.extra_certificates if arn not in arns]
    ctx.tx.put(listener.model_copy(update={"extra_certificates": kept}))
    return None


@operation("DescribeListenerCertificates")
def describe_listener_certificates(ctx: Context, req: Request) -> Result:
    listener = listener_or_error(ctx, req["ListenerArn"])
    default = _default_arn(listener)
    listed: list[tuple[str, bool]] = [(default, True)] if default else []
    listed += [(arn, False) for arn in listener.extra_certificates]
    page, marker = paginate(listed, req, key=lambda cert: (0 if cert[1] else 1, cert[0]))
    return {"Certificates": [{"CertificateArn": arn, "IsDefault": is_default} for arn, is_default in page],
            "NextMarker": marker}
