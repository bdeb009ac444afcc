"""The web ACL associated with a load balancer as the data plane enforces it (AWS WAF, WAFv2).

WAFv2 keeps the web ACLs, IP sets, regex pattern sets, rule groups and logging configurations (moto, on the
same endpoint); ``emulator.local_aws.web_acl`` reads the one associated with a load balancer into this shape, so
the data plane never imports moto. ``document`` is one canonical JSON text holding the web ACL's rules (API
shape), its DefaultAction and CustomResponseBodies, and every IP set / regex pattern set / rule group its
rules reference: two reads of an unchanged configuration compare equal, so a listener's compiled web ACL (and
its rate-based counters) survive reconcile passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WebAclView:
    arn: str
    name: str
    account: str
    # {"Rules", "DefaultAction", "CustomResponseBodies", "IPSets": {arn: {"Addresses", "IPAddressVersion"}},
    #  "RegexPatternSets": {arn: [regex, ...]}, "RuleGroups": {arn: {"Name", "Rules", "CustomResponseBodies"}},
    #  "Logging": [log destination ARN, ...] or None}
    document: str
    # How much faster than AWS's clock rate-based windows run (``emulator.timing.Timing.scale``), set by the
    # data plane from its timing.
    window_scale: float = 1.0


# (account, region, load balancer ARN) -> its associated web ACL, or None; read at every reconcile pass.
WebAclSource = Callable[[str, str, str], "WebAclView | None"]
