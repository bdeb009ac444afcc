"""Target stickiness within a target group: lb_cookie (AWSALB / AWSALBCORS) and app_cookie (AWSALBAPP-0..3
next to the application's own cookie). An NLB's source_ip stickiness is a flow hash (``flow_hash``).

AWS ("Sticky sessions for your Application Load Balancer"): with lb_cookie the load balancer issues AWSALB
naming the target; with app_cookie it issues AWSALBAPP whenever the target sets the configured application
cookie. The AWSALBAPP value carries the application cookie too ("the load balancer encrypts the application
cookie"), so a large application cookie spreads over up to four 4 KB shards, AWSALBAPP-0..3; unused shards
are sent as ``_remove_`` with an expired date so that stale ones disappear from the browser. A cookie naming
a target that is not routable (gone, draining, unhealthy) means: pick again and reissue.
"""

from __future__ import annotations

from api_models.attribute_views import TargetGroupSettings
from emulator.dataplane.selection.cookies import EXPIRED, CookieSource, IssuedPairs, expires, seal, unseal
from emulator.dataplane.selection.target import Target

LB_COOKIE, LB_COOKIE_CORS = "AWSALB", "AWSALBCORS"
APP_SHARDS = tuple(f"AWSALBAPP-{i}" for i in range(4))
SHARD_BYTES = 4000  # each shard stays under the 4096-byte cookie limit with its name and attributes
REMOVED = "_remove_"
_NO_TARGETS: dict[tuple[str, int], Target] = {}


class TargetStickiness:
    """A group's target stickiness, from its settings; the group's runtime keeps it and its routable index."""

    __slots__ = ("kind", "seconds", "app_prefix", "source_ip", "routable", "issued")

    def __init__(self, settings: TargetGroupSettings) -> None:
        kind = settings.stickiness
        self.kind = kind if kind in ("lb_cookie", "app_cookie") else ""  # "" when no cookie stickiness
        self.source_ip = kind == "source_ip"  # NLB: the flow hash covers only the client's address
        self.seconds = settings.stickiness_seconds
        # The lower-case "name=" prefix of the application cookie's Set-Cookie value.
        self.app_prefix = (settings.app_cookie_name + "=").lower().encode() if self.kind == "app_cookie" else b""
        self.routable = _NO_TARGETS  # (Id, Port) -> the routable target, while cookie stickiness is on
        self.issued = IssuedPairs(LB_COOKIE, LB_COOKIE_CORS)

    def reset(self, routable: list[Target]) -> None:
        """The group's routable targets changed."""
        self.routable = {(t.id, t.port): t for t in routable} if self.kind else _NO_TARGETS

    def target(self, request: CookieSource) -> Target | None:
        """The routable target the request's stickiness cookie names, if any (only while ``kind`` is set)."""
        value = request.cookie(LB_COOKIE) if self.kind == "lb_cookie" else _app_value(request)
        fields = unseal(value, 2) if value else None
        if fields is None:
            return None
        try:
            return self.routable.get((fields[0], int(fields[1])))
        except ValueError:
            return None

    def lb_cookies(self, target: Target) -> list[bytes]:
        """AWSALB and AWSALBCORS naming ``target`` (a shared list: copy it to change it)."""
        return self.issued.get(target, f"{target.id}|{target.port}", self.seconds)

    def response_cookies(self, target: Target, set_cookie_values: list[bytes]) -> list[bytes]:
        """app_cookie: the AWSALBAPP-* values to add when the target's response sets the application cookie."""
        prefix = self.app_prefix
        if not prefix:
            return []
        for value in reversed(set_cookie_values):  # the last one is the one the client keeps
            if value[:len(prefix)].lower() == prefix:
                return self.app_cookies(target, value.split(b";", 1)[0])
        return []

    def app_cookies(self, target: Target, app_cookie: bytes) -> list[bytes]:
        """AWSALBAPP-0..3 naming ``target`` and carrying ``app_cookie`` (the application's name=value)."""
        fields = f"{target.id}|{target.port}"
        value = seal(fields, self.seconds, app_cookie)
        shards = [value[i:i + SHARD_BYTES] for i in range(0, len(value), SHARD_BYTES)]
        if len(shards) > len(APP_SHARDS):  # AWS: 16 KB at most; beyond that the target alone is kept
            shards = [seal(fields, self.seconds)]
        until = expires()
        cookies = [f"{name}={shard}; Expires={until}; Path=/".encode() for name, shard in zip(APP_SHARDS, shards)]
        cookies += [f"{name}={REMOVED}; Expires={EXPIRED}; Path=/".encode() for name in APP_SHARDS[len(shards):]]
        return cookies


def _app_value(request: CookieSource) -> str | None:
    """AWSALBAPP-0..3 joined in order (a missing or removed shard ends the value)."""
    value = request.cookie(APP_SHARDS[0])
    if not value or value == REMOVED:
        return None
    for name in APP_SHARDS[1:]:
        part = request.cookie(name)
        if not part or part == REMOVED:
            break
        value += part
    return value
