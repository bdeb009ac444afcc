"""The load balancer's stickiness cookies: their opaque values and the Set-Cookie values that carry them.

AWS ("Sticky sessions for your Application Load Balancer", ALB user guide): the AWSALB, AWSALBAPP and AWSALBTG
cookies are opaque to clients, each issued with a 7-day expiry while the configured duration is enforced by
the load balancer, and each comes with a CORS twin (AWSALBCORS, AWSALBTGCORS) set with ``SameSite=None;
Secure``. Here a value is base64url of ``field|...|expiry[|tail]``: the fields name a target or a target
group, the expiry is the configured duration from when it was issued. An undecodable or expired value means:
choose again and reissue.

Set-Cookie values are bytes without the ``Set-Cookie: `` prefix and the line end.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Hashable
from typing import Protocol

WEEK = 7 * 86400  # the cookies' own Expires
EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


class CookieSource(Protocol):
    """A request, as selection sees it: the value of one of its cookies."""

    def cookie(self, name: str) -> str | None: ...


def seal(fields: str, seconds: int, tail: bytes = b"") -> str:
    """The opaque value of ``fields`` (joined by "|"), valid for ``seconds`` from now, ``tail`` appended."""
    plain = f"{fields}|{time.time() + seconds:.0f}".encode()
    return base64.urlsafe_b64encode(plain + b"|" + tail if tail else plain).decode()


def unseal(value: str, count: int) -> list[str] | None:
    """The ``count`` fields before the expiry of a ``seal``-ed value; None when undecodable or expired."""
    try:
        parts = base64.urlsafe_b64decode(value.encode() + b"==").decode().split("|", count + 1)
        if len(parts) <= count or float(parts[count]) < time.time():
            return None
    except ValueError:  # bad base64, bad UTF-8 or a bad expiry
        return None
    return parts[:count]


_expires: tuple[int, str] = (0, "")


def expires() -> str:
    """The Expires of a cookie issued now: a week ahead, formatted once per second."""
    global _expires
    now = int(time.time())
    if _expires[0] != now:
        _expires = (now, time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + WEEK)))
    return _expires[1]


def cookie_pair(name: str, cors_name: str, value: str) -> list[bytes]:
    """The two Set-Cookie values of a stickiness cookie: ``name`` and its CORS twin."""
    until = expires()
    return [
        f"{name}={value}; Expires={until}; Path=/".encode(),
        f"{cors_name}={value}; Expires={until}; Path=/; SameSite=None; Secure".encode(),
    ]


class IssuedPairs:
    """The cookie pairs issued during the current second, by what they name: within a second the value (its
    expiry is in seconds) and the Expires are the same, so each is built once per second, not per request.
    The lists returned are shared: callers copy them, never change them."""

    __slots__ = ("name", "cors_name", "second", "pairs")

    def __init__(self, name: str, cors_name: str) -> None:
        self.name, self.cors_name = name, cors_name
        self.second = 0
        self.pairs: dict[Hashable, list[bytes]] = {}

    def get(self, key: Hashable, fields: str, seconds: int) -> list[bytes]:
        """The pair for ``key`` naming ``fields`` for ``seconds``."""
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.pairs.clear()
        pair = self.pairs.get(key)
        if pair is None:
            pair = self.pairs[key] = cookie_pair(self.name, self.cors_name, seal(fields, seconds))
        return pair
