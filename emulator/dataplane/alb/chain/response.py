"""Response stages: what the load balancer does to a target's response head on its way to the client.

Each ``on_response(ctx, headers) -> headers`` gets the target's headers (lower-case names) and returns them,
changed or not; the client leg frames and serialises the result. LB-made responses get the listener's
response headers from ``ResponsePolicy.local_headers`` instead (cached per response by each leg).
"""

from __future__ import annotations

from typing import Protocol

from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.headers.response import ResponsePolicy
from emulator.dataplane.alb.heads import Headers


class ResponseStage(Protocol):
    def on_response(self, ctx: Exchange, headers: Headers) -> Headers: ...


class StickinessCookies:
    """The LB's stickiness cookies (AWSALBTG, AWSALB, and AWSALBAPP-* when the target sets the application
    cookie: "Sticky sessions for your Application Load Balancer")."""

    __slots__ = ()

    def on_response(self, ctx: Exchange, headers: Headers) -> Headers:
        selection = ctx.selection
        if selection is None:
            return headers
        values = selection.set_cookies  # AWSALBTG, AWSALB: decided with the target
        if selection.group.stickiness.kind == "app_cookie":
            own = [value for name, value in headers if name == b"set-cookie"]
            if own:  # the target set cookies: AWSALBAPP-* if one of them is the application cookie
                values = [*values, *selection.response_cookies(own)]
        if not values:
            return headers
        return [*headers, *((b"Set-Cookie", value) for value in values)]


class ListenerResponseHeaders:
    """``routing.http.response.*`` listener attributes (AWS "HTTP header modification")."""

    __slots__ = ("policy",)

    def __init__(self, policy: ResponsePolicy) -> None:
        self.policy = policy

    def on_response(self, ctx: Exchange, headers: Headers) -> Headers:
        return self.policy.target_headers(headers)
