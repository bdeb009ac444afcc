"""The ALB data plane: every HTTP/HTTPS listener is a real HTTP/1.1 reverse proxy with AWS's routing rules.

``listener`` binds and holds the compiled state; ``connection`` speaks HTTP to clients; ``forwarding`` routes
and relays; ``upstream`` pools target connections; ``rules``/``actions``/``headers``/``stickiness``/
``responses`` are the AWS semantics. TLS termination is the data plane's one ``dataplane.tls``.
"""

from __future__ import annotations

from emulator.dataplane.alb.listener import AlbListener
from emulator.dataplane.runtime import Collaborators, ListenerConfig, register_runtime


@register_runtime("HTTP", "HTTPS")
def alb_runtime(config: ListenerConfig, collaborators: Collaborators) -> AlbListener:
    return AlbListener(config, collaborators)
