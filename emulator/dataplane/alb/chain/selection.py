"""Target selection as the chain sees it: the forward action picks a target group and a target.

The one place that calls into the forward action's balancing and stickiness (``actions.Forward``,
``stickiness``, ``dataplane.balancing``); the shape it returns is ``forward.select(request) -> Selection``
(group, target, ``set_cookies`` values, and ``response_cookies`` for app_cookie stickiness).
"""

from __future__ import annotations

from api_models.attribute_views import TargetGroupSettings
from emulator.dataplane.alb.actions import Forward
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.stickiness import Sticky, app_cookie_lines, lb_cookie_lines, sticky_target
from emulator.dataplane.targets import Target, TargetGroupRuntime


class Selection:
    __slots__ = ("group", "target", "set_cookies", "sticky", "app_cookie")

    def __init__(self, group: TargetGroupRuntime | None, target: Target | None, set_cookies: list[bytes],
                 sticky: Sticky | None) -> None:
        self.group = group
        self.target = target  # None: no routable target (503)
        self.set_cookies = set_cookies  # Set-Cookie values the LB adds to the response
        self.sticky = sticky
        # the response path must look at the target's Set-Cookie headers (app_cookie stickiness)
        self.app_cookie = sticky is not None and sticky.kind == "app_cookie"

    def response_cookies(self, set_cookie_values: list[bytes]) -> list[bytes]:
        """app_cookie stickiness: the AWSALBAPP-* values to add when the target sets the application cookie
        (``set_cookie_values``: the target's Set-Cookie values)."""
        sticky, target = self.sticky, self.target
        if sticky is None or sticky.kind != "app_cookie" or target is None:
            return []
        prefix, app_cookie = sticky.app_cookie, b""
        for value in set_cookie_values:
            if value.lower().startswith(prefix):
                app_cookie = value.split(b";", 1)[0]
        return _values(app_cookie_lines(sticky, target, app_cookie)) if app_cookie else []


_NO_COOKIES: list[bytes] = []  # shared, never changed


def may_set_cookies(action: object) -> bool:
    """Whether requests routed to ``action`` (a compiled rule action) can get stickiness cookies: decided
    per configuration (a change to a group's attributes recompiles the listener)."""
    forward = getattr(action, "terminal", action)  # (authenticate / jwt-validation wrap their terminal action)
    if not isinstance(forward, Forward):
        return False
    return bool(forward.sticky_seconds) or any(
        TargetGroupSettings.of(g.group.attributes).stickiness for g in forward.groups)


def select(forward: Forward, request: Request) -> Selection:
    group, cookies = forward.choose(request)
    if group is None:
        return Selection(None, None, _NO_COOKIES, None)
    picker, sticky = forward.balancing[group]
    if sticky.generation != group.generation:  # the group's attributes may have changed
        sticky.refresh(group)
    target = sticky_target(sticky, group, request) if sticky.kind else None
    if target is None:
        target = picker.pick(group)
    if target is not None and sticky.kind == "lb_cookie":
        cookies += lb_cookie_lines(sticky, target)
    return Selection(group, target, _values(cookies) if cookies else _NO_COOKIES, sticky if sticky.kind else None)



def _values(lines: bytes) -> list[bytes]:
    """The values of the stickiness module's ``Set-Cookie:`` lines."""
    return [line[12:] for line in lines.split(b"\r\n") if line]
