"""The ALB data plane: every HTTP/HTTPS listener is a real reverse proxy with AWS's routing rules.

Reading order:
- ``listener`` binds and owns the connections and pools; ``state`` is one configuration compiled for
  requests; ``alpn`` picks HTTP/2 or HTTP/1.1 on HTTPS listeners.
- ``chain``: every request's stages in AWS's order of evaluation (``chain.order``), what a stage answers
  (``chain.outcomes``), the stages, target selection, and the response stages.
- ``exchange`` (the request context and the leg Protocols), ``request``, ``heads``, ``responses``: the values
  that move through the chain.
- the legs: ``http1`` (client connection, pooled target connections), ``http2`` (client connection and
  streams, HTTP/2 targets, flow control).
- the AWS semantics: ``routing`` (rules, transforms, actions, protocol versions), ``auth`` (authenticate,
  jwt-validation), ``headers`` (X-Forwarded-*, mTLS/TLS headers, response headers), ``desync``,
  ``actions``/``stickiness`` (forward and target stickiness).
TLS termination is the data plane's one ``dataplane.tls``.
"""

from __future__ import annotations

from emulator.dataplane.alb.listener import AlbListener
from emulator.dataplane.runtime import Collaborators, ListenerConfig, register_runtime


@register_runtime("HTTP", "HTTPS")
def alb_runtime(config: ListenerConfig, collaborators: Collaborators) -> AlbListener:
    return AlbListener(config, collaborators)
