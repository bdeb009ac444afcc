"""JSON Web Key Sets for ``jwt-validation`` actions: fetched over HTTPS on the event loop, cached per endpoint.

AWS "Verify JWTs using an Application Load Balancer": only RS256 is supported; the JWKS response may be at
most 150 KB and hold at most 10 keys, otherwise the request is not forwarded. AWS does not document its cache
lifetime: the emulator keeps a set for ``TTL`` seconds and refetches early (at most every ``REFRESH_GAP``)
when a token names a ``kid`` it does not know, so a rotated key works without waiting for the TTL.

The endpoint's certificate is verified by the data plane's one outbound client (``tls.outbound``): against the
system trust store plus, for local IdPs with their own CA, the PEM file named by ``ELBV2_EMULATOR_CA_BUNDLE``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

from jwt import PyJWK
from jwt.exceptions import PyJWKError

from emulator.dataplane.tls import outbound

TTL = 300.0
REFRESH_GAP = 30.0
TIMEOUT = 5.0  # a request waits at most this long for the JWKS
MAX_BYTES = 150 * 1024
MAX_KEYS = 10
STALE = object()  # ``Jwks.key``: no fresh answer, fetch first


class JwksError(Exception):
    """The JWKS could not be fetched, or broke AWS's limits."""


class Jwks:
    """One endpoint's keys (kid -> RSA public key); requests on the event loop share one fetch."""

    __slots__ = ("endpoint", "fetched", "keys", "pending")

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.keys: dict[str | None, Any] = {}
        self.fetched = float("-inf")
        self.pending: asyncio.Task[None] | None = None

    def fresh(self) -> bool:
        return time.monotonic() - self.fetched <= TTL

    def key(self, kid: str | None) -> Any:
        """The key for ``kid``, ``None`` if the set has none, or ``STALE`` when the set must be fetched first."""
        age = time.monotonic() - self.fetched
        if age > TTL:
            return STALE
        key = self.keys.get(kid)
        if key is None and kid is None and len(self.keys) == 1:
            key = next(iter(self.keys.values()))  # a token without kid, a set with one key
        if key is None and age > REFRESH_GAP:
            return STALE
        return key

    async def refresh(self) -> None:
        if self.pending is None:
            self.pending = asyncio.ensure_future(self._load())
            self.pending.add_done_callback(self._done)
        await asyncio.shield(self.pending)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.pending = None
        if not task.cancelled():
            task.exception()  # retrieved: the waiters got it already

    async def _load(self) -> None:
        try:
            body = await _get(self.endpoint)
            self.keys = _parse(json.loads(body))
        except (ValueError, PyJWKError) as error:
            raise JwksError(f"{self.endpoint}: {error}") from error
        self.fetched = time.monotonic()


_SETS: dict[str, Jwks] = {}  # shared by every listener's actions (the data plane's one event loop)


def jwks_for(endpoint: str) -> Jwks:
    jwks = _SETS.get(endpoint)
    if jwks is None:
        jwks = _SETS[endpoint] = Jwks(endpoint)
    return jwks


def _parse(document: Any) -> dict[str | None, Any]:
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or len(keys) > MAX_KEYS:
        raise ValueError(f"a JWKS holds a 'keys' list of at most {MAX_KEYS} keys")
    usable = [k for k in keys if isinstance(k, dict) and k.get("kty") == "RSA" and k.get("alg", "RS256") == "RS256"]
    return {k.get("kid"): PyJWK(k, algorithm="RS256").key for k in usable}


async def _get(url: str) -> bytes:
    """The body of a 200 of at most ``MAX_BYTES`` from an https URL."""
    if urlsplit(url).scheme != "https":
        raise ValueError("the JWKS endpoint must be an https URL")
    try:
        status, body = await outbound.request("GET", url, limit=MAX_BYTES, timeout=TIMEOUT)
    except outbound.OutboundError as error:
        raise ValueError(str(error)) from error
    if status != 200:
        raise ValueError(f"GET {url} answered {status}")
    return body
