"""Target stickiness within a target group (checklist 5.4): lb_cookie (AWSALB / AWSALBCORS) and app_cookie
(AWSALBAPP-0..3 next to the application's own cookie).

The AWSALBAPP value carries the application cookie too (AWS: "the load balancer encrypts the application
cookie"), so a large application cookie spreads over up to four 4 KB shards, AWSALBAPP-0..3; unused shards are
sent as ``_remove_`` with an expired date so that stale ones disappear from the browser.

The cookie value is opaque to clients: base64 of ``target id|port|expiry``; the configured duration lives
inside the value while the cookie itself carries a 7-day Expires, as on AWS. An undecodable or expired value,
or one naming a target that is not routable, means: pick again and reissue.
"""

from __future__ import annotations

import base64
import time
import weakref

from emulator.dataplane.alb.request import Request
from emulator.dataplane.targets import Target, TargetGroupRuntime

LB_COOKIE, LB_COOKIE_CORS = "AWSALB", "AWSALBCORS"
APP_COOKIE = "AWSALBAPP-0"
APP_SHARDS = tuple(f"AWSALBAPP-{i}" for i in range(4))
SHARD_BYTES = 4000  # each shard stays under the 4096-byte cookie limit with its name and attributes
REMOVED = "_remove_"


class Sticky:
    """A group's stickiness settings, re-read whenever the group's generation changes."""

    __slots__ = ("generation", "kind", "seconds", "app_cookie")

    def __init__(self) -> None:
        self.generation = -1
        self.kind = ""  # "" (off) | "lb_cookie" | "app_cookie"
        self.seconds = 0
        self.app_cookie = b""  # lower-case "name=" prefix of the application cookie

    def refresh(self, group: TargetGroupRuntime) -> None:
        attrs = group.group.attributes
        self.generation = group.generation
        self.kind = attrs.get("stickiness.type", "lb_cookie") if attrs.get("stickiness.enabled") == "true" else ""
        self.seconds = int(attrs.get(f"stickiness.{self.kind}.duration_seconds", "86400") or 86400)
        self.app_cookie = (attrs.get("stickiness.app_cookie.cookie_name", "") + "=").lower().encode()


_settings: weakref.WeakKeyDictionary[TargetGroupRuntime, Sticky] = weakref.WeakKeyDictionary()


def sticky_settings(group: TargetGroupRuntime) -> Sticky:
    sticky = _settings.get(group)
    if sticky is None:
        sticky = _settings[group] = Sticky()
    if sticky.generation != group.generation:
        sticky.refresh(group)
    return sticky


def tg_cookie_lines(name: str, cors_name: str, value: str) -> bytes:
    """AWS's pair of stickiness cookies: a 7-day Expires (the real duration is inside the value), and the CORS
    twin with ``SameSite=None; Secure``."""
    expires = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 7 * 86400))
    return (
        f"Set-Cookie: {name}={value}; Expires={expires}; Path=/\r\n"
        f"Set-Cookie: {cors_name}={value}; Expires={expires}; Path=/; SameSite=None; Secure\r\n"
    ).encode()


def encode(target: Target, seconds: int, app_cookie: bytes = b"") -> str:
    plain = f"{target.id}|{target.port}|{time.time() + seconds:.0f}".encode()
    return base64.urlsafe_b64encode(plain + (b"|" + app_cookie if app_cookie else b"")).decode()


def _app_value(request: Request) -> str | None:
    """AWSALBAPP-0..3 joined in order (a missing or removed shard ends the value)."""
    parts = []
    for name in APP_SHARDS:
        part = request.cookie(name)
        if not part or part == REMOVED:
            break
        parts.append(part)
    return "".join(parts) or None


def sticky_target(sticky: Sticky, group: TargetGroupRuntime, request: Request) -> Target | None:
    """The routable target the request's cookie names, if any."""
    value = request.cookie(LB_COOKIE) if sticky.kind == "lb_cookie" else _app_value(request)
    if not value:
        return None
    try:
        target_id, port, expiry = base64.urlsafe_b64decode(value.encode() + b"==").decode().split("|", 3)[:3]
        if float(expiry) < time.time():
            return None
        wanted = (target_id, int(port))
    except ValueError:
        return None
    return next((t for t in group.routable if (t.id, t.port) == wanted), None)


def lb_cookie_lines(sticky: Sticky, target: Target) -> bytes:
    return tg_cookie_lines(LB_COOKIE, LB_COOKIE_CORS, encode(target, sticky.seconds))


def app_cookie_lines(sticky: Sticky, target: Target, app_cookie: bytes = b"") -> bytes:
    """Added when the target sets the application cookie (``app_cookie``: that Set-Cookie's name=value)."""
    value = encode(target, sticky.seconds, app_cookie)
    shards = [value[i:i + SHARD_BYTES] for i in range(0, len(value), SHARD_BYTES)]
    if len(shards) > len(APP_SHARDS):  # AWS: 16 KB at most; beyond that the target alone is kept
        shards = [encode(target, sticky.seconds)]
    expires = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 7 * 86400))
    lines = [f"Set-Cookie: {name}={shard}; Expires={expires}; Path=/\r\n" for name, shard in zip(APP_SHARDS, shards)]
    lines += [f"Set-Cookie: {name}={REMOVED}; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/\r\n"
              for name in APP_SHARDS[len(shards):]]
    return "".join(lines).encode()
