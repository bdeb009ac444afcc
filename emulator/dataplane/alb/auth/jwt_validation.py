"""The ``jwt-validation`` rule action: a bearer token checked before the terminal action.

AWS "Verify JWTs using an Application Load Balancer"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-verify-jwt.html): the client sends the JWT in the request header
(``Authorization: Bearer <token>``); the LB validates the RS256 signature with the JWKS endpoint's keys,
requires ``iss`` (equal to the configured Issuer) and ``exp``, validates ``nbf`` and ``iat`` when present, and
checks up to 10 additional claims. A valid token is forwarded as is (the Authorization header unchanged);
otherwise the request is rejected: 401 here. When the JWKS cannot be fetched (or breaks the 150 KB / 10 keys
limits) the request is not forwarded either: 500, as ALB answers when it cannot reach an IdP endpoint.

Additional claims (AWS names the formats, not the matching; the emulator's reading): the token's claim must hold at least one
of the configured Values: ``single-string`` a string equal to one, ``string-array`` a list containing one,
``space-separated-values`` a string whose space-separated items include one.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from emulator.dataplane.alb.auth.jwks import STALE, Jwks, JwksError, jwks_for
from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.outcomes import GO_ON, Answer, Outcome
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.responses import LocalResponse, lb_response

UNAUTHORIZED = lb_response(401)
JWKS_ERROR = lb_response(500)


class _NeedKeys:
    """``_verify``: the keys are unknown or stale."""


_NEED_KEYS = _NeedKeys()
_REQUIRED = ("exp", "iss")
_VERIFIED_MAX = 4096  # tokens remembered per action (then forgotten all at once)


class JwtValidation:
    """A jwt-validation action compiled with the terminal action it guards."""

    __slots__ = ("claims", "issuer", "jwks", "terminal", "verified")

    def __init__(self, action: dict, terminal: object) -> None:
        config = action.get("JwtValidationConfig") or {}
        self.terminal = terminal
        self.jwks: Jwks = jwks_for(config["JwksEndpoint"])
        self.issuer: str = config["Issuer"]
        self.claims = [(c["Name"], c["Format"], frozenset(c["Values"])) for c in config.get("AdditionalClaims") or []]
        # token -> (exp, the key set that verified it): an RS256 verification costs ~60 us, a client repeats
        # its token on every request, and a verified token's claims cannot change before it expires.
        self.verified: dict[str, tuple[float, dict]] = {}

    def check(self, ctx: Exchange) -> Outcome:
        """``GO_ON`` when the request may go on, a 401, or (keys unknown or stale) the wait for the JWKS fetch
        (at most its timeout) followed by the check."""
        token = _bearer(ctx.request)
        if token is None:
            return UNAUTHORIZED
        known = self.verified.get(token)
        if known is not None and known[1] is self.jwks.keys and time.time() < known[0] and self.jwks.fresh():
            return GO_ON
        verdict = self._verify(token)
        return self._after_fetch(token) if isinstance(verdict, _NeedKeys) else verdict

    async def _after_fetch(self, token: str) -> Answer:
        try:
            await self.jwks.refresh()
        except JwksError:
            return JWKS_ERROR
        verdict = self._verify(token)
        return UNAUTHORIZED if isinstance(verdict, _NeedKeys) else verdict

    def _verify(self, token: str) -> LocalResponse | _NeedKeys | None:
        """``GO_ON``, 401, or ``_NEED_KEYS``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return UNAUTHORIZED
        if header.get("alg") != "RS256":  # AWS: only RS256 is supported
            return UNAUTHORIZED
        key = self.jwks.key(header.get("kid"))
        if key is STALE:
            return _NEED_KEYS
        if key is None:
            return UNAUTHORIZED
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"], issuer=self.issuer,
                                options={"require": list(_REQUIRED), "verify_aud": False})
        except jwt.InvalidTokenError:  # signature, exp, nbf, iat (not in the future), iss
            return UNAUTHORIZED
        if not all(_matches(claims.get(n), f, v) for n, f, v in self.claims):
            return UNAUTHORIZED
        if len(self.verified) >= _VERIFIED_MAX:
            self.verified.clear()
        self.verified[token] = (float(claims["exp"]), self.jwks.keys)
        return None  # GO_ON


def _bearer(request: Request) -> str | None:
    values = request.header_values(b"authorization")
    if len(values) != 1:
        return None
    scheme, _, token = values[0].strip().partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _matches(value: Any, form: str, allowed: frozenset[str]) -> bool:
    if form == "single-string":
        return isinstance(value, str) and value in allowed
    if form == "string-array":
        return isinstance(value, list) and any(isinstance(v, str) and v in allowed for v in value)
    return isinstance(value, str) and not allowed.isdisjoint(value.split())  # space-separated-values
