"""ARN, id and DNS-name formats exactly as AWS spells them (Service Authorization Reference,
"Resource types defined by Elastic Load Balancing V2").

Tools parse these with regexes (Terraform's ``arn_suffix`` is ``app/<name>/<lbid>``; a listener ARN is a
rule ARN minus ``-rule`` and its last segment), so the shapes here are part of the contract.
"""

from __future__ import annotations

import secrets
import zlib

ARN_PREFIX = "arn:aws:elasticloadbalancing"

# LB Type -> the ARN path segment AWS uses for it.
TYPE_SEGMENT = {"application": "app", "network": "net", "gateway": "gwy"}

# CanonicalHostedZoneId per region and LB type, from terraform-provider-aws hosted_zone_id_data_source.go.
# Regions missing here fall back to us-east-1's ids (an emulator choice).
_ALB_ZONES = {
    "us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-1": "Z368ELLRRE2KJ0",
    "us-west-2": "Z1H1FL5HABSF5", "ca-central-1": "ZQSVJUPU6J1EY", "eu-west-1": "Z32O12XQLNTSW2",
    "eu-west-2": "ZHURV8PSTC4K8", "eu-west-3": "Z3Q77PNBQS71R4", "eu-central-1": "Z215JYRZR1TBD5",
    "eu-north-1": "Z23TAZ7KNHPTL", "eu-south-1": "Z3ULH7SSC9OV64", "ap-south-1": "ZP97RAFLXTNZK",
    "ap-northeast-1": "Z14GRHDCWA56QT", "ap-northeast-2": "ZWKZPGTI48KDX", "ap-northeast-3": "Z5LXEXXYW11ES",
    "ap-southeast-1": "Z1LMS91P8CMLE5", "ap-southeast-2": "Z1GM3OXH4ZPM65", "ap-east-1": "Z3DQVH9N71FHZ0",
    "sa-east-1": "Z2P70J7HTTTPLU", "me-south-1": "ZS929ML54UICD", "af-south-1": "Z268VQBMOI5EKX",
}
_NLB_ZONES = {
    "us-east-1": "Z26RNL4JYFTOTI", "us-east-2": "ZLMOA37VPKANP", "us-west-1": "Z24FKFUX50B4VW",
    "us-west-2": "Z18D5FSROUN65G", "ca-central-1": "Z2EPGBW3API2WT", "eu-west-1": "Z2IFOLAFXWLO4F",
    "eu-west-2": "ZD4D7Y8KGAS4G", "eu-west-3": "Z1CMS0P5QUZ6D5", "eu-central-1": "Z3F0SRJ5LGBH90",
    "eu-north-1": "Z1UDT6IFJ4EJM", "eu-south-1": "Z23146JA1KNAFP", "ap-south-1": "ZVDDRBQ08TROA",
    "ap-northeast-1": "Z31USIVHYNEOWT", "ap-northeast-2": "ZIBE1TIR4HY56", "ap-northeast-3": "Z1GWIQ4HH19I5X",
    "ap-southeast-1": "ZKVM4W9LS7TM", "ap-southeast-2": "ZCT6FZBF4DROD", "ap-east-1": "Z12Y7K3UBGUAD1",
    "sa-east-1": "ZTK26PT1VY4CU", "me-south-1": "Z3QSRYVP46NYYV", "af-south-1": "Z203XCE67M25HM",
}


def new_id() -> str:
    """16 lowercase hex digits, the id AWS puts at the end of LB, TG, listener and rule ARNs."""
    return secrets.token_hex(8)


def load_balancer_arn(region: str, account: str, lb_type: str, name: str, lb_id: str) -> str:
    return f"{ARN_PREFIX}:{region}:{account}:loadbalancer/{TYPE_SEGMENT[lb_type]}/{name}/{lb_id}"


def listener_arn(load_balancer_arn: str, listener_id: str) -> str:
    # loadbalancer/app/<name>/<lbid> -> listener/app/<name>/<lbid>/<lid>
    return load_balancer_arn.replace(":loadbalancer/", ":listener/", 1) + "/" + listener_id


def rule_arn(listener_arn_: str, rule_id: str) -> str:
    return listener_arn_.replace(":listener/", ":listener-rule/", 1) + "/" + rule_id


def target_group_arn(region: str, account: str, name: str, tg_id: str) -> str:
    return f"{ARN_PREFIX}:{region}:{account}:targetgroup/{name}/{tg_id}"


def trust_store_arn(region: str, account: str, name: str, ts_id: str) -> str:
    return f"{ARN_PREFIX}:{region}:{account}:truststore/{name}/{ts_id}"


def arn_region_account(arn: str) -> tuple[str, str]:
    """The (region, account) fields of any ARN; empty strings for a malformed one."""
    parts = arn.split(":", 5)
    return (parts[3], parts[4]) if len(parts) == 6 else ("", "")


def dns_name(lb_type: str, scheme: str, name: str, lb_id: str, region: str) -> str:
    """ALB: ``[internal-]<name>-<digits>.<region>.elb.amazonaws.com``; NLB: ``<name>-<lbid>.elb.<region>.amazonaws.com``."""
    if lb_type == "application":
        # ALB names carry 9-10 decimal digits; derive them from the id so a name is stable for its LB.
        digits = str(zlib.crc32(lb_id.encode()) % 9_000_000_000 + 1_000_000_000)
        prefix = "internal-" if scheme == "internal" else ""
        return f"{prefix}{name}-{digits}.{region}.elb.amazonaws.com"
    return f"{name}-{lb_id}.elb.{region}.amazonaws.com"


def canonical_hosted_zone_id(lb_type: str, region: str) -> str:
    zones = _ALB_ZONES if lb_type == "application" else _NLB_ZONES
    return zones.get(region, zones["us-east-1"])
