"""Registers the emulator's ELBv2 resource types in moto's CloudFormation, in place of moto's own."""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing

from emulator.api.cloudformation import ec2_deletions, replacements, stack_events
from emulator.api.cloudformation.calls import Elbv2Invoker
from emulator.api.cloudformation.listeners import Listener, ListenerCertificate, ListenerRule
from emulator.api.cloudformation.load_balancers import LoadBalancer, TargetGroup
from emulator.api.cloudformation.resource import Elbv2Resource, use_invoker
from emulator.api.cloudformation.trust_stores import TrustStore, TrustStoreRevocation

TYPES: tuple[type[Elbv2Resource], ...] = (
    LoadBalancer, TargetGroup, Listener, ListenerRule, ListenerCertificate, TrustStore, TrustStoreRevocation,
)


def register(invoker: Elbv2Invoker) -> None:
    use_invoker(invoker)
    # Both tables are built once and cached by moto (functools.lru_cache): the entries set here stay.
    models: dict[str, Any] = parsing.get_model_map()
    names = parsing.get_name_type_map()
    for kind in TYPES:
        models[kind.TYPE] = kind
        names[kind.TYPE] = kind.NAME_PROPERTY
    stack_events.install()
    ec2_deletions.install()
    replacements.install()
