"""The load balancer's side of the OIDC code exchange: one HTTP/1.1 request per call on the event loop.

Only the login callback uses it (once per login), so a plain asyncio stream per request is enough; the
IdP's certificate is verified against the system trust store, as AWS verifies public IdPs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urlsplit

if TYPE_CHECKING:
    from emulator.dataplane.alb.auth import Authenticate

TIMEOUT = 5.0
_TLS = ssl.create_default_context()


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
        return await asyncio.wait_for(_request(method, url, headers, body), TIMEOUT)
    except (OSError, asyncio.TimeoutError, ValueError) as error:
        raise IdpError(str(error)) from error


async def _request(method: str, url: str, headers: dict[str, str], body: bytes) -> dict:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    reader, writer = await asyncio.open_connection(parts.hostname, port, ssl=_TLS if secure else None,
                                                   server_hostname=parts.hostname if secure else None)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n{lines}Accept: application/json\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        response = await reader.read()  # Connection: close: the response ends with the connection
    finally:
        writer.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1] if head.count(b" ") >= 1 else b""
    if status != b"200" or b"transfer-encoding: chunked" in head.lower():
        raise IdpError(f"{method} {url} answered {status!r}")
    return json.loads(payload)
