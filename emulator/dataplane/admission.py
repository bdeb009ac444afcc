"""Connection admission by security groups: which client sources a listener accepts.

AWS ("Security groups for your Application Load Balancer"; "Update the security groups for your Network
Load Balancer"): a load balancer's security groups must allow inbound traffic from the client on the
listener port. EC2 drops what they do not allow, silently. The data plane cannot un-accept a connection the
kernel already took, so a refused TCP connection is reset at once (the client sees ECONNRESET right away
instead of a connect timeout) and a refused UDP datagram is dropped. Nothing is answered: no HTTP error page.

Security groups are stateful (AWS "Security group connection tracking"): a connection or flow that was
admitted lives on after a rule that admitted it is revoked. The check runs once per new connection or flow.
"""

from __future__ import annotations

import ipaddress
import logging

from api_models.security_groups import SecurityGroupView

log = logging.getLogger("elbv2_emulator.security_groups")

_IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_CACHE_LIMIT = 4096  # distinct client addresses remembered per filter (tests and local tools use a handful)


class SourceFilter:
    """The sources one listener admits: the networks of every inbound rule that opens its port."""

    __slots__ = ("networks", "groups", "default_group", "transport", "port", "where", "_verdicts")

    def __init__(self, view: SecurityGroupView, transport: str, port: int, where: str) -> None:
        """``transport``: "tcp" or "udp"; ``where``: the listener, as log lines name it."""
        networks: list[_IpNetwork] = []
        for rule in view.rules:
            if rule.covers(transport, port):
                for network in rule.networks:
                    try:
                        networks.append(ipaddress.ip_network(network, strict=False))
                    except ValueError:  # EC2 validated it; anything else is not ours to admit
                        continue
        self.networks = tuple(networks)
        self.groups, self.default_group = view.group_ids, view.default_group
        self.transport, self.port, self.where = transport, port, where
        self._verdicts: dict[str, bool] = {}  # per client address: decided once, logged once

    def admits(self, host: str) -> bool:
        verdict = self._verdicts.get(host)
        if verdict is None:
            verdict = self._decide(host)
            if len(self._verdicts) < _CACHE_LIMIT:
                self._verdicts[host] = verdict
        return verdict

    def _decide(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.networks):
            return True
        log.info("%s: security groups %s refused %s to %s/%s%s", self.where, ", ".join(self.groups) or "(none)",
                 host, self.port, self.transport, self._hint())
        return False

    def _hint(self) -> str:
        if self.networks:
            return ""
        if self.default_group:
            return (f" ({self.default_group} is its VPC's default group, which admits only its own members; add"
                    f" an inbound rule for port {self.port} or name another group)")
        return f" (no inbound rule opens port {self.port}/{self.transport})"
