"""What a stage of the request chain answers, and the ``Stage`` protocol itself.

Modelled on Envoy's HTTP filter chain (a filter continues or stops iteration, answering locally) and
LocalStack's handler chain: each stage looks at the request context and says one of

- ``GO_ON`` (``None``): the next stage runs;
- a ``LocalResponse``: the load balancer answers (fixed-response, redirect, 4xx/5xx);
- an ``UpstreamRequest``: the forward decision (the head the selected target receives), handed to the
  client leg, which sends it on its upstream leg;
- an awaitable of one of these: the stage waits (a JWKS fetch, an IdP code exchange) and its result is taken
  as the stage's answer; ``GO_ON`` resumes the chain after it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.heads import UpstreamRequest
from emulator.dataplane.alb.responses import LocalResponse

Answer = LocalResponse | UpstreamRequest | None
Outcome = Answer | Awaitable[Answer]
GO_ON: Answer = None


class Stage(Protocol):
    def run(self, ctx: Exchange) -> Outcome: ...
