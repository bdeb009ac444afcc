"""JSON Web Key Sets for ``jwt-validation`` actions: fetched over HTTPS on the event loop, cached per endpoint.

AWS "Verify JWTs using an Application Load Balancer": only RS256 is supported; the JWKS response may be at
most 150 KB and hold at most 10 keys, otherwise the request is not forwarded. AWS does not document its cache
lifetime: the emulator keeps a set for ``TTL`` seconds and refetches early (at most every ``REFRESH_GAP``)
when a token names a ``kid`` it does not know, so a rotated key works without waiting for the TTL.

The endpoint's certificate is verified (AWS verifies it against public CAs) against the system trust store
plus, for local IdPs with their own CA, the PEM file named by ``ELBV2_EMULATOR_CA_BUNDLE``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from jwt import PyJWK
from jwt.exceptions import PyJWKError

TTL = 300.0
REFRESH_GAP = 30.0
TIMEOUT = 5.0  # a request waits at most this long for the JWKS
MAX_BYTES = 150 * 1024
MAX_KEYS = 10
CA_BUNDLE_ENV = "ELBV2_EMULATOR_CA_BUNDLE"
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
            body = await asyncio.wait_for(_get(self.endpoint), TIMEOUT)
            self.keys = _parse(json.loads(body))
        except (OSError, asyncio.TimeoutError, ValueError, PyJWKError) as error:
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


@functools.lru_cache(maxsize=4)
def _tls(ca_bundle: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


async def _get(url: str) -> bytes:
    """GET over HTTP/1.0 (so never chunked), the body of a 200 of at most ``MAX_BYTES``."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("the JWKS endpoint must be an https URL")
    context = _tls(os.environ.get(CA_BUNDLE_ENV) or None)
    reader, writer = await asyncio.open_connection(
        parts.hostname, parts.port or 443, ssl=context, server_hostname=parts.hostname
    )
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        writer.write(f"GET {target} HTTP/1.0\r\nHost: {parts.netloc}\r\nAccept: application/json\r\n\r\n".encode())
        response = await reader.read(MAX_BYTES + 16384)
        while len(response) <= MAX_BYTES + 16384 and (more := await reader.read(65536)):
            response += more
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1] if head.count(b" ") >= 1 else b""
    if status != b"200":
        raise ValueError(f"GET {url} answered {status!r}")
    if len(body) > MAX_BYTES:
        raise ValueError(f"the JWKS is larger than {MAX_BYTES} bytes")
    return body
