"""The load balancer's side of the OIDC code exchange: the token endpoint, then the user-info endpoint.

Only the login callback uses it (once per login), through the data plane's one outbound client, which
verifies the IdP's certificate (``tls.outbound``).
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, urlencode

from emulator.dataplane.tls import outbound

TIMEOUT = 5.0


class IdpError(Exception):
    """The IdP could not be reached or did not answer 200 with JSON."""


async def exchange_code(
    client_id: str, secret: str, token_url: str, userinfo_url: str, code: str, redirect_uri: str
) -> tuple[str, dict]:
    """(access token, user claims): the TokenEndpoint with client_secret_basic, then the UserInfoEndpoint
    (skipped when ``userinfo_url`` is empty)."""
    basic = base64.b64encode(f"{quote(client_id)}:{quote(secret)}".encode()).decode()
    form = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                      "client_id": client_id})
    tokens = await _call("POST", token_url, {"Authorization": f"Basic {basic}",
                                              "Content-Type": "application/x-www-form-urlencoded"}, form.encode())
    access_token = tokens.get("access_token")
    if not isinstance(access_token, str):
        raise IdpError("no access_token")
    claims = await _call("GET", userinfo_url, {"Authorization": f"Bearer {access_token}"}) if userinfo_url else {}
    return access_token, claims


async def _call(method: str, url: str, headers: dict[str, str], body: bytes = b"") -> dict:
    try:
        status, payload = await outbound.request(method, url, headers, body, timeout=TIMEOUT)
        if status != 200:
            raise IdpError(f"{method} {url} answered {status}")
        return json.loads(payload)
    except (outbound.OutboundError, ValueError) as error:
        raise IdpError(str(error)) from error
