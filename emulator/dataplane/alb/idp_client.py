"""The load balancer's side of the OIDC code exchange: the token endpoint, then the user-info endpoint.

Only the login callback uses it (once per login), through the data plane's one outbound client, which
verifies the IdP's certificate (``tls.outbound``).
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from emulator.dataplane.tls import outbound

if TYPE_CHECKING:
    from emulator.dataplane.alb.auth import Authenticate

TIMEOUT = 5.0


class IdpError(Exception):
    """The IdP could not be reached or did not answer 200 with JSON."""


async def exchange_code(auth: Authenticate, code: str, redirect_uri: str) -> tuple[str, dict]:
    """(access token, user claims): the TokenEndpoint with client_secret_basic, then the UserInfoEndpoint."""
    basic = base64.b64encode(f"{quote(auth.client_id)}:{quote(auth.secret)}".encode()).decode()
    form = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                      "client_id": auth.client_id})
    tokens = await _call("POST", auth.token, {"Authorization": f"Basic {basic}",
                                              "Content-Type": "application/x-www-form-urlencoded"}, form.encode())
    access_token = tokens.get("access_token")
    if not isinstance(access_token, str):
        raise IdpError("no access_token")
    claims = await _call("GET", auth.userinfo, {"Authorization": f"Bearer {access_token}"}) if auth.userinfo else {}
    return access_token, claims


async def _call(method: str, url: str, headers: dict[str, str], body: bytes = b"") -> dict:
    try:
        status, payload = await outbound.request(method, url, headers, body, timeout=TIMEOUT)
        if status != 200:
            raise IdpError(f"{method} {url} answered {status}")
        return json.loads(payload)
    except (outbound.OutboundError, ValueError) as error:
        raise IdpError(str(error)) from error
