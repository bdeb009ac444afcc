"""The NLB data plane: every TCP, TLS, UDP, TCP_UDP, QUIC and TCP_QUIC listener is a real layer-4 proxy.

``reset_target_flows(target)`` resets every flow to a target (for the health checker, when a target turns
unhealthy and ``target_health_state.unhealthy.connection_termination.enabled`` is "true").
"""

from __future__ import annotations

from emulator.dataplane.nlb.listener import NlbListener
from emulator.dataplane.nlb.tracking import reset_target_flows
from emulator.dataplane.runtime import Collaborators, ListenerConfig, register_runtime

__all__ = ["NlbListener", "reset_target_flows"]


@register_runtime("TCP", "TLS", "UDP", "TCP_UDP", "QUIC", "TCP_QUIC")
def nlb_listener(config: ListenerConfig, collaborators: Collaborators) -> NlbListener:
    return NlbListener(config, collaborators)
