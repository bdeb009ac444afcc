"""The compiled forward action: which target group (ForwardConfig weights, target-group stickiness), then which
target in it (target stickiness, else the group's picker), and the cookies the response must carry.
``WeightedGroups`` is the weight split alone, which the NLB uses per new flow (NLB guide, "Weighted target
groups", November 2025: weights 0-999 among a default action's target groups).

AWS ("Listener rules for your Application Load Balancer", "Forward actions"; "Sticky sessions", target group
stickiness): a forward action with several target groups splits requests by weight (weight 0 receives
nothing); with ``TargetGroupStickinessConfig`` enabled the load balancer issues AWSALBTG (and AWSALBTGCORS)
naming the chosen group for ``DurationSeconds``, and requests carrying it go to that group while it remains
in the action.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from emulator.dataplane.selection.cookies import CookieSource, IssuedPairs, unseal
from emulator.dataplane.selection.group import TargetGroupRuntime
from emulator.dataplane.selection.target import Target

TG_COOKIE, TG_COOKIE_CORS = "AWSALBTG", "AWSALBTGCORS"


@dataclass(slots=True, eq=False)
class Selection:
    """Where one request goes. ``target`` None: the group has no routable target (the ALB answers 503).

    ``set_cookies``: Set-Cookie values (no ``Set-Cookie: `` prefix, no line end) the response must carry.
    ``response_cookies(values)``: given the target's own Set-Cookie values, the AWSALBAPP-* values to add
    (app_cookie stickiness; empty otherwise). (Slotted: one is built per request, its fields read cheaply.)
    """

    group: TargetGroupRuntime
    target: Target | None
    set_cookies: Sequence[bytes]

    def response_cookies(self, set_cookie_values: list[bytes]) -> list[bytes]:
        if self.target is None:
            return []
        return self.group.stickiness.response_cookies(self.target, set_cookie_values)


class WeightedGroups:
    """One target group, or a split by weight (weight 0 receives nothing; all 0: the first group)."""

    __slots__ = ("groups", "cumulative", "single")

    def __init__(self, groups: list[tuple[TargetGroupRuntime, int]]) -> None:
        groups = [(g, w) for g, w in groups if w > 0] or groups[:1]
        self.groups = [g for g, _ in groups]
        self.cumulative = list(accumulate(w for _, w in groups))
        self.single = self.groups[0] if len(self.groups) == 1 else None

    def pick(self) -> TargetGroupRuntime:
        """A group drawn by weight."""
        if self.single is not None:
            return self.single
        return self.groups[bisect(self.cumulative, random.random() * self.cumulative[-1])]


class Forward(WeightedGroups):
    """Forward to one target group, or split by weight with optional target-group stickiness."""

    __slots__ = ("sticky_seconds", "issued")

    def __init__(self, groups: list[tuple[TargetGroupRuntime, int]], sticky_seconds: int) -> None:
        super().__init__(groups)
        self.sticky_seconds = sticky_seconds if len(self.groups) > 1 else 0  # AWSALBTG only when there is a choice
        self.issued = IssuedPairs(TG_COOKIE, TG_COOKIE_CORS)

    def select(self, request: CookieSource) -> Selection:
        group = self.single
        cookies: Sequence[bytes] = ()
        if group is None:
            group = self._sticky_group(request) if self.sticky_seconds else None
            if group is None:
                group = self.pick()
            if self.sticky_seconds:
                cookies = self.issued.get(group, group.arn, self.sticky_seconds)  # (cached: not to be changed)
        stickiness = group.stickiness
        if not stickiness.kind:  # the common case: the group's picker decides
            return Selection(group, group.picker.pick(), cookies)
        target = stickiness.target(request)
        if target is None:
            target = group.picker.pick()
        if target is not None and stickiness.kind == "lb_cookie":
            cookies = [*cookies, *stickiness.lb_cookies(target)]  # also reissued when sticking: the duration starts again
        return Selection(group, target, cookies)

    def _sticky_group(self, request: CookieSource) -> TargetGroupRuntime | None:
        value = request.cookie(TG_COOKIE) or request.cookie(TG_COOKIE_CORS)
        fields = unseal(value, 1) if value else None
        if fields is None:
            return None  # none, undecodable or expired: choose again and reissue
        arn = fields[0]
        for group in self.groups:
            if group.arn == arn:
                return group
        return None
