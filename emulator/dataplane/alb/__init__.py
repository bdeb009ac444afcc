"""The ALB data plane: every HTTP/HTTPS listener is a real reverse proxy with AWS's routing rules.

Reading order:
- ``listener`` binds and owns the connections and pools; ``state`` is one configuration compiled for
  requests; ``alpn`` picks HTTP/2 or HTTP/1.1 on HTTPS listeners.
- ``chain``: every request's stages in AWS's order of evaluation (``chain.order``), the stages and the
  response stages; ``outcomes``: the ``Stage`` protocol and what a stage answers.
- ``exchange`` (the request context and the leg Protocols), ``request``, ``heads``, ``responses``: the values
  that move through the chain.
- the legs: ``http1`` (client connection), ``http2`` (client connection and streams), ``upstream`` (pooled
  HTTP/1.1 target connections, HTTP/2 targets), ``flow_control`` (HTTP/2 windows, both sides).
- the AWS semantics: ``routing`` (rules, transforms, actions, protocol versions), ``auth`` (authenticate,
  jwt-validation), ``headers`` (X-Forwarded-*, mTLS/TLS headers, response headers), ``desync``.
Target selection (forward weights, stickiness, algorithms) is the data plane's shared ``dataplane.selection``.
TLS termination is the data plane's one ``dataplane.tls``.
"""

from __future__ import annotations

from emulator.dataplane.alb.listener import AlbListener
from emulator.dataplane.runtime import Collaborators, ListenerConfig, register_runtime


@register_runtime("HTTP", "HTTPS")
def alb_runtime(config: ListenerConfig, collaborators: Collaborators) -> AlbListener:
    return AlbListener(config, collaborators)
