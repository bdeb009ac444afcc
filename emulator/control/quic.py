"""AWS's restrictions on QUIC and TCP_QUIC: where their listeners may be, and the server IDs of their targets.

NLB guide, "Create a listener for your Network Load Balancer" (prerequisites): "QUIC and TCP_QUIC listeners
are not allowed on dualstack load balancers or load balancers with associated security groups"; "Only one
QUIC or TCP_QUIC listener is allowed on an Network Load Balancer at any given time"; "QUIC and TCP_QUIC
listeners are not allowed on an Network Load Balancer that has UDP or TCP_UDP listeners". The guide states
the rules, not the answers: each listener refusal is ``InvalidConfigurationRequest`` (the API reference's
"The requested configuration is not valid"), with wording inferred.

API reference, TargetDescription ``QuicServerId``: "required if the protocol is QUIC or TCP_QUIC and can't be
used with other protocols"; "the 0x prefix followed by 16 hexadecimal characters. Any letters must be
lowercase"; "unique at the listener level"; "You can't modify the server ID
for a registered target". Refused as ``ValidationError`` (form) and ``InvalidTarget`` (clashes), wording inferred.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from api_models.resources import Listener, LoadBalancer, Rule, TargetGroup, TargetRegistration
from emulator.control.context import Context
from emulator.control.lookups import forwarded_target_groups
from emulator.errors import AwsError, validation_error

QUIC_PROTOCOLS = ("QUIC", "TCP_QUIC")
_EXCLUDED_BY_QUIC = ("UDP", "TCP_UDP")
_DUALSTACK = ("dualstack", "dualstack-without-public-ipv4")
_SERVER_ID = re.compile(r"^0x[0-9a-f]{16}$")


def check_listener(lb: LoadBalancer, protocol: str | None, others: Iterable[Listener]) -> None:
    """A listener of ``protocol`` may join ``lb``, whose other listeners are ``others`` (this one excluded)."""
    other_protocols = {other.Protocol for other in others}
    if protocol in QUIC_PROTOCOLS:
        if lb.IpAddressType in _DUALSTACK:
            raise _refusal(f"{protocol} listeners are not supported on dualstack load balancers")
        if lb.SecurityGroups:
            raise _refusal(f"{protocol} listeners are not supported on load balancers with security groups")
        if other_protocols & set(QUIC_PROTOCOLS):
            raise _refusal("A load balancer can have only one QUIC or TCP_QUIC listener")
        if other_protocols & set(_EXCLUDED_BY_QUIC):
            raise _refusal(f"{protocol} listeners are not supported on load balancers with UDP or TCP_UDP listeners")
    elif protocol in _EXCLUDED_BY_QUIC and other_protocols & set(QUIC_PROTOCOLS):
        raise _refusal(f"{protocol} listeners are not supported on load balancers with QUIC or TCP_QUIC listeners")


def check_ip_address_type(ip_address_type: str, listeners: Iterable[Listener]) -> None:
    """SetIpAddressType: a load balancer with a QUIC or TCP_QUIC listener stays off dualstack."""
    if ip_address_type in _DUALSTACK and any(listener.Protocol in QUIC_PROTOCOLS for listener in listeners):
        raise _refusal("A load balancer with a QUIC or TCP_QUIC listener cannot be dualstack")


def peer_groups(ctx: Context, target_group_arn: str) -> list[str]:
    """The other target groups forwarded to by the listeners that forward to this one: server IDs are unique
    across all of them."""
    listeners = {rule.listener_arn for rule in ctx.tx.all(Rule) if target_group_arn in forwarded_target_groups(rule.Actions)}
    peers = {arn for rule in ctx.tx.all(Rule) if rule.listener_arn in listeners for arn in forwarded_target_groups(rule.Actions)}
    return sorted(peers - {target_group_arn})


def check_server_id(tg: TargetGroup, target: dict[str, Any], live: list[TargetRegistration], port: int | None,
                    peers: list[TargetRegistration]) -> None:
    """RegisterTargets: the target's ``QuicServerId`` is given exactly when the group speaks QUIC, is well
    formed, is not another live target's in the group or in its ``peers`` (the live registrations of the
    ``peer_groups``), and does not change a registered target's."""
    server_id = target.get("QuicServerId")
    if tg.Protocol not in QUIC_PROTOCOLS:
        if server_id is not None:
            raise validation_error("A QUIC server ID can be specified only for targets of QUIC and TCP_QUIC target groups")  # wording inferred
        return
    if server_id is None:
        raise validation_error(f"A QUIC server ID must be specified for targets of {tg.Protocol} target groups")  # wording inferred
    if not _SERVER_ID.match(server_id):
        raise validation_error(
            f"QUIC server ID '{server_id}' must be the 0x prefix followed by 16 lowercase hexadecimal characters"
        )  # wording inferred
    for registration in live:
        same_target = registration.Id == target["Id"] and registration.Port == port
        if same_target and registration.deregistered_at is None and registration.QuicServerId != server_id:
            raise AwsError("InvalidTarget", f"The QUIC server ID of registered target '{target['Id']}' cannot be modified; "
                           "deregister the target and register it again")  # wording inferred
        if not same_target and registration.QuicServerId == server_id:
            raise AwsError("InvalidTarget", f"QUIC server ID '{server_id}' is already used by target '{registration.Id}'")  # wording inferred
    for registration in peers:
        if registration.QuicServerId == server_id and (registration.Id, registration.Port) != (target["Id"], port):
            raise AwsError("InvalidTarget", f"QUIC server ID '{server_id}' is already used by target '{registration.Id}' "
                           "behind the same listener")  # wording inferred


def _refusal(message: str) -> AwsError:
    return AwsError("InvalidConfigurationRequest", message)  # wording inferred (see the module docstring)
