"""Listener attributes that shape responses (checklist 2.6): the ``Server: awselb/2.0`` header of LB-made
responses (``routing.http.response.server.enabled``) and the injected security/CORS headers
(``routing.http.response.<name>.header_value``).

AWS "HTTP header modification": the injected headers are added to every response, those from targets and
those the load balancer makes; a header of the same name sent by the target is replaced, not duplicated.
"""

from __future__ import annotations

from api_models.resources import Listener

SERVER_LINE = b"Server: awselb/2.0\r\n"
# Attribute fragment -> response header name (AWS "HTTP header modification for your Application Load Balancer").
INJECTED = {
    "strict_transport_security": "Strict-Transport-Security",
    "access_control_allow_origin": "Access-Control-Allow-Origin",
    "access_control_allow_methods": "Access-Control-Allow-Methods",
    "access_control_allow_headers": "Access-Control-Allow-Headers",
    "access_control_allow_credentials": "Access-Control-Allow-Credentials",
    "access_control_expose_headers": "Access-Control-Expose-Headers",
    "access_control_max_age": "Access-Control-Max-Age",
    "content_security_policy": "Content-Security-Policy",
    "x_content_type_options": "X-Content-Type-Options",
    "x_frame_options": "X-Frame-Options",
}


class ResponsePolicy:
    """Compiled once per configuration; ``plain`` means nothing to do (the fast path)."""

    __slots__ = ("server", "lines", "names", "plain")

    def __init__(self, listener: Listener) -> None:
        attrs = listener.attributes
        self.server = attrs.get("routing.http.response.server.enabled", "true") != "false"
        injected = {
            header: attrs[f"routing.http.response.{key}.header_value"]
            for key, header in INJECTED.items()
            if attrs.get(f"routing.http.response.{key}.header_value")
        }
        self.lines = b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in injected.items())
        self.names = frozenset(name.lower().encode() for name in injected)
        self.plain = self.server and not self.lines

    def rewrite(self, response: bytes) -> bytes:
        """An LB-made response (status line + headers + body) with this listener's header settings."""
        if self.plain:
            return response
        if not self.server:
            response = response.replace(SERVER_LINE, b"", 1)
        if self.lines:
            end = response.index(b"\r\n") + 2  # right after the status line
            response = response[:end] + self.lines + response[end:]
        return response
