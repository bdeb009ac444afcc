"""Target selection as the chain sees it: which requests can get stickiness cookies, decided per configuration.

The choice itself is ``selection.forward.Forward.select`` (ForwardConfig weights, AWSALBTG, target stickiness,
the group's algorithm over its routable targets), shared with nothing ALB-specific.
"""

from __future__ import annotations

from emulator.dataplane.selection.forward import Forward


def may_set_cookies(action: object) -> bool:
    """Whether requests routed to ``action`` (a compiled rule action) can get stickiness cookies. A change to
    a group's attributes reaches the listener as a new configuration, so this is compiled with it."""
    forward = getattr(action, "terminal", action)  # (authenticate / jwt-validation wrap their terminal action)
    if not isinstance(forward, Forward):
        return False
    return bool(forward.sticky_seconds) or any(group.stickiness.kind for group in forward.groups)
