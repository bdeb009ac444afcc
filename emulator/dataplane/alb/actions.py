"""The forward rule action compiled for the data plane: one target group, or several by weight with optional
target-group stickiness (AWS "Listener rules for your Application Load Balancer", forward actions).

Compiled by ``routing.actions.compile_actions``; the chain reaches it through ``chain.selection``.
"""

from __future__ import annotations

import base64
import random
import time
from bisect import bisect
from itertools import accumulate

from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.stickiness import Sticky, sticky_settings, tg_cookie_lines
from emulator.dataplane.balancing import Picker, picker_for
from emulator.dataplane.targets import TargetGroupRuntime

TG_COOKIE = "AWSALBTG"
TG_COOKIE_CORS = "AWSALBTGCORS"


class Forward:
    """Forward to one target group, or split by weight with optional target-group stickiness."""

    __slots__ = ("groups", "cumulative", "sticky_seconds", "single", "balancing")

    def __init__(self, groups: list[tuple[TargetGroupRuntime, int]], sticky_seconds: int) -> None:
        groups = [(g, w) for g, w in groups if w > 0] or groups[:1]  # weight 0 receives nothing
        self.groups = [g for g, _ in groups]
        self.cumulative = list(accumulate(w for _, w in groups))
        self.sticky_seconds = sticky_seconds if len(self.groups) > 1 else 0
        self.single = self.groups[0] if len(self.groups) == 1 else None
        # Each group's (shared) picker and stickiness settings, looked up here rather than per request.
        self.balancing: dict[TargetGroupRuntime, tuple[Picker, Sticky]] = {
            g: (picker_for(g), sticky_settings(g)) for g in self.groups
        }

    def choose(self, request: Request) -> tuple[TargetGroupRuntime | None, bytes]:
        """The target group for this request and any Set-Cookie lines to add to the response."""
        if self.single is not None:
            return self.single, b""
        if self.sticky_seconds:
            group = self._sticky_group(request)
            if group is not None:
                return group, self._cookies(group)
        group = self.groups[bisect(self.cumulative, random.random() * self.cumulative[-1])]
        return group, self._cookies(group) if self.sticky_seconds else b""

    def _sticky_group(self, request: Request) -> TargetGroupRuntime | None:
        value = request.cookie(TG_COOKIE) or request.cookie(TG_COOKIE_CORS)
        if not value:
            return None
        try:
            arn, expiry = base64.urlsafe_b64decode(value.encode() + b"==").decode().rsplit("|", 1)
            if float(expiry) < time.time():
                return None
        except ValueError:
            return None  # undecodable: choose again and reissue
        return next((g for g in self.groups if g.arn == arn), None)

    def _cookies(self, group: TargetGroupRuntime) -> bytes:
        value = base64.urlsafe_b64encode(f"{group.arn}|{time.time() + self.sticky_seconds:.0f}".encode()).decode()
        return tg_cookie_lines(TG_COOKIE, TG_COOKIE_CORS, value)
