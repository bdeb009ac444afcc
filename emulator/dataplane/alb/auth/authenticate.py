"""authenticate-oidc / authenticate-cognito rule actions, emulated with AWS's browser flow.

AWS "Authenticate users using an Application Load Balancer"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html):
1. A request without a valid session cookie is answered per ``OnUnauthenticatedRequest``: ``deny`` -> 401,
   ``allow`` -> forwarded without claims, ``authenticate`` (default) -> 302 to the IdP's
   AuthorizationEndpoint with ``client_id``, ``redirect_uri=https://<host>/oauth2/idpresponse``,
   ``response_type=code``, ``scope`` and ``state`` (plus AuthenticationRequestExtraParams).
2. The IdP sends the browser to ``/oauth2/idpresponse?code=..&state=..`` on the listener; the LB exchanges the
   code at the TokenEndpoint (client_secret_basic), calls the UserInfoEndpoint with the access token, sets
   the session cookie (``AWSELBAuthSessionCookie-0``, more shards past 4 KB) and redirects to the original URL.
3. A request with a valid session cookie goes to the terminal action with ``x-amzn-oidc-accesstoken``,
   ``x-amzn-oidc-identity`` (the ``sub`` claim) and ``x-amzn-oidc-data`` (the user claims as an ES256 JWT
   whose header names the ``signer`` (LB ARN), ``client``, ``iss``, ``kid`` and ``exp``).

Emulator specifics: the cookie and ``state`` are HMAC-signed with a per-process key (sessions end when the
emulator restarts); the JWT signing key is per process too. Cognito endpoints are derived from the user pool
domain (``https://<domain>.auth.<region>.amazoncognito.com/oauth2/...``) and cannot be reached offline, so
Cognito logins end in 561 at the exchange step; deny/allow/redirect and existing sessions behave as above.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from emulator.dataplane.alb.auth.idp_client import IdpError, exchange_code
from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.heads import Headers
from emulator.dataplane.alb.outcomes import GO_ON, Outcome
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.responses import LocalResponse, lb_response, redirect

AUTH_TYPES = ("authenticate-oidc", "authenticate-cognito")
CALLBACK_PATH = "/oauth2/idpresponse"
SHARD = 4000  # bytes of cookie value per shard (AWS: cookies over 4 KB are split into -0, -1, ...)
IDP_ERROR = 561  # AWS: the IdP answered the exchange with an error, or could not be reached

_KEY = os.urandom(32)
_SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())
KEY_ID = hashlib.sha256(_KEY).hexdigest()[:36]


def _b64(data: bytes, pad: bool = False) -> str:
    text = base64.urlsafe_b64encode(data).decode()
    return text if pad else text.rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(payload: dict) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return body + "." + _b64(hmac.new(_KEY, body.encode(), hashlib.sha256).digest())


def unseal(token: str) -> dict | None:
    body, _, mac = token.partition(".")
    expected = _b64(hmac.new(_KEY, body.encode(), hashlib.sha256).digest())
    if not mac or not hmac.compare_digest(mac, expected):
        return None
    try:
        return json.loads(_unb64(body))
    except ValueError:
        return None


def oidc_data(claims: dict, header: dict) -> str:
    """AWS's x-amzn-oidc-data: ``header.payload.signature``, ES256, base64url *with* padding as AWS sends it."""
    signing_input = _b64(json.dumps(header).encode(), True) + "." + _b64(json.dumps(claims).encode(), True)
    r, s = decode_dss_signature(_SIGNING_KEY.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"), True)


class Authenticate:
    """An authenticate action compiled with the terminal action it guards."""

    __slots__ = (
        "terminal", "client_id", "secret", "issuer", "authorize", "token", "userinfo", "scope", "cookie",
        "timeout", "unauthenticated", "extra", "signer",
    )

    def __init__(self, action: dict, terminal: object, signer: str) -> None:
        self.terminal = terminal
        self.signer = signer
        if action["Type"] == "authenticate-cognito":
            config = action.get("AuthenticateCognitoConfig") or {}
            region = config["UserPoolArn"].split(":")[3]
            base = f"https://{config['UserPoolDomain']}.auth.{region}.amazoncognito.com/oauth2"
            self.client_id, self.secret = config["UserPoolClientId"], ""
            self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{config['UserPoolArn'].rsplit('/', 1)[-1]}"
            self.authorize, self.token, self.userinfo = f"{base}/authorize", f"{base}/token", f"{base}/userInfo"
        else:
            config = action.get("AuthenticateOidcConfig") or {}
            self.client_id, self.secret = config["ClientId"], config.get("ClientSecret") or ""
            self.issuer = config.get("Issuer", "")
            self.authorize, self.token = config["AuthorizationEndpoint"], config["TokenEndpoint"]
            self.userinfo = config.get("UserInfoEndpoint", "")
        self.scope = config.get("Scope") or "openid"
        self.cookie = config.get("SessionCookieName") or "AWSELBAuthSessionCookie"
        self.timeout = int(config.get("SessionTimeout") or 604800)
        self.unauthenticated = config.get("OnUnauthenticatedRequest") or "authenticate"
        self.extra = config.get("AuthenticationRequestExtraParams") or {}

    # -- every request ---------------------------------------------------------------------------

    def check(self, ctx: Exchange) -> Outcome:
        """``GO_ON`` with the claims headers in ``ctx.extra`` for an authenticated request (none with ``allow``),
        else the LB's answer: 401 (``deny``) or a 302 to the IdP."""
        request = ctx.request
        session = self._session(request)
        if session is not None:
            ctx.extra = (*ctx.extra, *self._claim_headers(session))  # after any web ACL's inserted headers
            return GO_ON
        if self.unauthenticated == "allow":
            return GO_ON
        if self.unauthenticated == "deny":
            return lb_response(401)
        state = seal({"c": self.client_id, "u": request.url.decode("latin-1"), "t": int(time.time())})
        query = {"client_id": self.client_id, "redirect_uri": _redirect_uri(request), "response_type": "code",
                 "scope": self.scope, "state": state, **self.extra}
        return redirect(302, f"{self.authorize}{'&' if '?' in self.authorize else '?'}{urlencode(query)}")

    def _session(self, request: Request) -> dict | None:
        parts, index = [], 0
        while (part := request.cookie(f"{self.cookie}-{index}")) is not None:
            parts.append(part)
            index += 1
        session = unseal("".join(parts)) if parts else None
        if session is None or session.get("c") != self.client_id or session.get("e", 0) < time.time():
            return None
        return session

    def _claim_headers(self, session: dict) -> Headers:
        claims = session["claims"]
        header = {"typ": "JWT", "kid": KEY_ID, "alg": "ES256", "iss": self.issuer, "client": self.client_id,
                  "signer": self.signer, "exp": session["e"]}
        return [
            (b"x-amzn-oidc-accesstoken", str(session["at"]).encode("latin-1")),
            (b"x-amzn-oidc-identity", str(claims.get("sub", "")).encode("latin-1")),
            (b"x-amzn-oidc-data", oidc_data(claims, header).encode("latin-1")),
        ]

    # -- /oauth2/idpresponse ---------------------------------------------------------------------

    async def complete_login(self, request: Request) -> LocalResponse:
        """Exchange the code, fetch the claims, set the session cookie and send the browser back."""
        params = dict(parse_qsl(request.query))
        state = unseal(params.get("state", ""))
        if state is None or state.get("c") != self.client_id or "code" not in params:
            return lb_response(401)
        try:
            access_token, claims = await exchange_code(
                self.client_id, self.secret, self.token, self.userinfo, params["code"], _redirect_uri(request))
        except IdpError:
            return lb_response(IDP_ERROR)
        value = seal({"c": self.client_id, "at": access_token, "claims": claims, "e": int(time.time()) + self.timeout})
        expires = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + self.timeout))
        cookies = [
            (b"Set-Cookie",
             f"{self.cookie}-{i}={value[start:start + SHARD]}; Expires={expires}; Path=/; Secure; HttpOnly".encode())
            for i, start in enumerate(range(0, len(value), SHARD))
        ]
        return redirect(302, state["u"], cookies)


def _redirect_uri(request: Request) -> str:
    return f"https://{request.host}{CALLBACK_PATH}"


def authenticator_for(request: Request, candidates: list[Authenticate]) -> Authenticate | None:
    """The listener's authenticate action that started the login this idpresponse completes."""
    state = unseal(dict(parse_qsl(request.query)).get("state", ""))
    client = state.get("c") if state else None
    return next((a for a in candidates if a.client_id == client), None)
