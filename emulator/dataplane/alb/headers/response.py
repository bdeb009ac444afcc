"""Listener attributes that shape responses: the ``Server: awselb/2.0`` header of LB-made responses
(``routing.http.response.server.enabled``) and the injected security/CORS headers
(``routing.http.response.<name>.header_value``).

AWS "HTTP header modification for your Application Load Balancer"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/header-modification.html): the injected
headers are added to every response, those from targets and those the load balancer makes; a header of the
same name sent by the target is replaced, not duplicated.
"""

from __future__ import annotations

from typing import Any

from api_models.attribute_views import ListenerSettings
from emulator.dataplane.alb.responses import SERVER, Headers, LocalResponse


class ResponsePolicy:
    """Compiled once per configuration; ``plain`` means nothing to do (the fast path).

    ``cache`` holds the client legs' serialised forms of cacheable LB-made responses under this policy (each
    leg picks its own keys): built on first use, dropped with the configuration."""

    __slots__ = ("server", "injected", "names", "plain", "cache")

    def __init__(self, settings: ListenerSettings) -> None:
        self.server = settings.server_header
        self.injected: Headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in settings.response_headers]
        self.names = frozenset(name.lower() for name, _ in self.injected)
        self.plain = self.server and not self.injected
        self.cache: dict[object, Any] = {}

    def local_headers(self, local: LocalResponse) -> Headers:
        """The headers of an LB-made response under this listener's settings (original case)."""
        if self.plain:
            return local.headers
        headers = local.headers if self.server else [h for h in local.headers if h is not SERVER]
        return self.injected + headers

    def target_headers(self, headers: Headers) -> Headers:
        """A target's response headers (lower-case names): injected ones replace the target's own."""
        if not self.injected:
            return headers
        names = self.names
        kept = [h for h in headers if h[0] not in names]
        kept += self.injected
        return kept
