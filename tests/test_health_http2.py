"""Health checks of HTTP2 target groups (ProtocolVersion HTTP2) go over HTTP/2, as their traffic does.

AWS: "Target groups for your Application Load Balancers" (protocol version: HTTP/2 targets are sent HTTP/2),
"Health checks for Application Load Balancer target groups" (HealthCheckPath "[HTTP1 or HTTP2 protocol
version] The ping path", Matcher HttpCode default 200) and API_TargetHealth (reason codes). Plain HTTP checks
use prior-knowledge h2c; HTTPS checks TLS with ALPN h2, without verifying the target's certificate.
"""

from __future__ import annotations

import trustme

from tests.backends import HttpEcho
from tests.h2_support import H2Echo
from tests.health_support import alb_with_group, watch_until

HEALTHY = {"State": "healthy"}
FAILED = {"State": "unhealthy", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"}
_FAST = {"ProtocolVersion": "HTTP2", "HealthyThresholdCount": 2, "UnhealthyThresholdCount": 2}


def _checked(elbv2, subnets, vpc_id, port: int, **group) -> str:
    tg, _ = alb_with_group(elbv2, subnets, vpc_id, port, **_FAST, **group)
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
    return tg


def test_an_http2_only_target_is_healthy_over_h2c(elbv2, subnets, vpc_id):
    with H2Echo() as target:  # answers HTTP/2 with prior knowledge only: an HTTP/1.1 check would fail
        tg = _checked(elbv2, subnets, vpc_id, target.port, HealthCheckPath="/health")
        watch_until(elbv2, tg, target.port, HEALTHY)
        assert target.connections >= 1


def test_an_https_check_of_an_http2_group_negotiates_h2(elbv2, subnets, vpc_id):
    leaf = trustme.CA().issue_cert("backend.internal")  # a CA nobody trusts: the check does not verify it
    with H2Echo(tls=leaf) as target:  # offers ALPN h2 only
        tg = _checked(elbv2, subnets, vpc_id, target.port, Protocol="HTTPS", HealthCheckProtocol="HTTPS")
        watch_until(elbv2, tg, target.port, HEALTHY)


def test_the_matcher_is_compared_with_the_http2_status(elbv2, subnets, vpc_id):
    with H2Echo() as target:  # answers 200
        tg = _checked(elbv2, subnets, vpc_id, target.port, Matcher={"HttpCode": "204"})
        watch_until(elbv2, tg, target.port, {
            "State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
            "Description": "Health checks failed with these codes: [200]"})


def test_an_http1_only_target_of_an_http2_group_fails_its_checks(elbv2, subnets, vpc_id):
    with HttpEcho() as target:  # HTTP/1.1 only: it answers the HTTP/2 connection preface with an HTTP/1 error
        tg = _checked(elbv2, subnets, vpc_id, target.port)
        watch_until(elbv2, tg, target.port, FAILED)
        assert target.requests == 0  # no HTTP/1.1 request reached it: the check spoke HTTP/2


def test_an_http1_group_is_still_checked_over_http1(elbv2, subnets, vpc_id):
    with HttpEcho() as target:
        tg, _ = alb_with_group(elbv2, subnets, vpc_id, target.port, ProtocolVersion="HTTP1", HealthyThresholdCount=2)
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1"}])
        watch_until(elbv2, tg, target.port, HEALTHY)
