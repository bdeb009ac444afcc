"""What a listener does with a new flow, rebuilt from its config on every update and swapped atomically.

The listener's rules are compiled here once per update (``FlowRules``), then evaluated once per new flow:
the first rule, in ascending priority, whose source-ip condition names the client's IP address type
(``IpAddressType`` ipv4 or ipv6) forwards the flow; none matching, the default action does (NLB guide,
"Listener rules for your Network Load Balancer": rules route by "the source IP address type").
A forward action with several target groups draws one by weight per new flow (NLB guide, "Weighted target
groups", November 2025); the flow then stays on that group, and its target, for its life.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from api_models.attribute_views import ListenerSettings
from api_models.resources import Action, Condition
from emulator.dataplane.runtime import ListenerConfig
from emulator.dataplane.selection.forward import WeightedGroups
from emulator.dataplane.selection.group import TargetGroupRuntime
from emulator.dataplane.tls.targets import backend_policy, target_tls
from emulator.timing import Timing

# AWS: "UDP flows ... idle timeout of 120 seconds", fixed. Scaled by the timing mode so tests stay quick.
UDP_IDLE_SECONDS = 120.0
# tcp.idle_timeout.seconds is real seconds (60-6000) as configured. This variable multiplies it, for tests
# only (e.g. 0.01 turns the 60 s minimum into 0.6 s); read when a listener's config is applied.
TCP_IDLE_SCALE_ENV = "ELBV2_EMULATOR_TCP_IDLE_SCALE"

@dataclass(frozen=True, slots=True)
class FlowRule:
    """A non-default rule: the source IP address types it matches ("ipv4", "ipv6") and its forward action."""

    address_types: frozenset[str]
    forward: WeightedGroups


class FlowRules:
    """A listener's rules in evaluation order, then its default action (None: nothing to forward to)."""

    __slots__ = ("rules", "default", "groups")

    def __init__(self, config: ListenerConfig) -> None:
        groups = config.target_groups
        self.default = _weighted(list(config.listener.DefaultActions), groups)
        rules: list[FlowRule] = []
        for rule in config.rules:  # ascending priority
            forward = _weighted(list(rule.Actions), groups) if not rule.IsDefault else None
            if forward is not None:
                rules.append(FlowRule(_address_types(rule.Conditions), forward))
        self.rules = tuple(rules)
        # Every group new flows may go to (the listener resets flows of targets that left one of them).
        forwards = [f for f in (self.default, *(r.forward for r in rules)) if f is not None]
        self.groups = tuple({g.arn: g for f in forwards for g in f.groups}.values())

    def group(self, client_ip: str) -> TargetGroupRuntime | None:
        """The target group of a new flow from ``client_ip``: evaluated once per flow."""
        if self.rules:
            address_type = source_address_type(client_ip)
            for rule in self.rules:
                if address_type in rule.address_types:
                    return rule.forward.pick()
        return self.default.pick() if self.default is not None else None


def source_address_type(client_ip: str) -> str:
    """"ipv4" or "ipv6", as a source-ip condition's IpAddressType names the client's address family (an
    IPv4-mapped IPv6 address is an IPv4 client)."""
    return "ipv6" if ":" in client_ip and not client_ip.startswith("::ffff:") else "ipv4"


def _address_types(conditions: list[Condition]) -> frozenset[str]:
    """The IpAddressType of a rule's source-ip condition (the only condition NLB rules take: control.rules)."""
    return frozenset(str((c.get("SourceIpConfig") or {}).get("IpAddressType"))
                     for c in conditions if c.get("Field") == "source-ip")


def _weighted(actions: list[Action], live: Mapping[str, TargetGroupRuntime]) -> WeightedGroups | None:
    """The forward action's groups with their weights (a plain TargetGroupArn weighs 1); None if none is live."""
    for action in actions:
        if action.get("Type") != "forward":
            continue
        config = action.get("ForwardConfig") or {}
        weighted = [(t["TargetGroupArn"], int(t.get("Weight", 1))) for t in config.get("TargetGroups") or []]
        if not weighted and action.get("TargetGroupArn"):
            weighted = [(action["TargetGroupArn"], 1)]
        present = [(live[arn], weight) for arn, weight in weighted if arn in live]
        return WeightedGroups(present) if present else None
    return None


@dataclass(frozen=True, slots=True)
class Route:
    rules: FlowRules
    tcp_idle: float
    udp_idle: float
    target_tls: ssl.SSLContext  # TLS target groups' connections, under the listener's back-end policy

    def upstream_tls(self, group: TargetGroupRuntime) -> ssl.SSLContext | None:
        """TLS to the targets of a TLS target group (the NLB does not verify their certificates)."""
        return self.target_tls if group.tls else None

    @classmethod
    def of(cls, config: ListenerConfig, timing: Timing) -> Route:
        tcp_idle = ListenerSettings.of(config.listener.attributes).tcp_idle_timeout_seconds
        return cls(
            rules=FlowRules(config),
            tcp_idle=tcp_idle * float(os.environ.get(TCP_IDLE_SCALE_ENV, "1")),
            udp_idle=timing.seconds(UDP_IDLE_SECONDS),
            target_tls=target_tls(backend_policy(config.listener.SslPolicy, "network")).context,
        )
