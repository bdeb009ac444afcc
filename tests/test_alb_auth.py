"""authenticate-oidc before forward on an HTTPS listener: the browser flow against a tiny fake IdP on
127.0.0.1 (redirect, /oauth2/idpresponse code exchange, session cookie, x-amzn-oidc-* headers), deny/allow."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme

from tests.alb_support import address, alb, listener, listener_url, target_group
from tests.alb_tls_support import https_request, import_certificate
from tests.backends import HttpEcho

CLIENT_ID, SECRET, CODE, TOKEN = "emulator-client", "s3cret", "code-123", "access-token-456"
CLAIMS = {"sub": "user-1", "email": "user@example.com"}


class _Idp(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _json(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # the token endpoint: client_secret_basic + the authorization code
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
        self.server.seen.append(form)  # type: ignore[attr-defined]
        if self.headers["Authorization"] != f"Basic {basic}" or form.get("code") != [CODE]:
            self._json(400, {"error": "invalid_grant"})
        else:
            self._json(200, {"access_token": TOKEN, "id_token": "unused", "token_type": "Bearer"})

    def do_GET(self) -> None:  # the user info endpoint
        if self.headers["Authorization"] == f"Bearer {TOKEN}":
            self._json(200, CLAIMS)
        else:
            self._json(401, {"error": "invalid_token"})


@pytest.fixture
def idp():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Idp)
    server.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _oidc(idp, order: int = 1, **extra: str) -> dict:
    base = f"http://127.0.0.1:{idp.server_address[1]}"
    return {"Type": "authenticate-oidc", "Order": order, "AuthenticateOidcConfig": {
        "Issuer": "https://idp.example.com", "AuthorizationEndpoint": f"{base}/authorize",
        "TokenEndpoint": f"{base}/token", "UserInfoEndpoint": f"{base}/userinfo",
        "ClientId": CLIENT_ID, "ClientSecret": SECRET, **extra}}


def _b64json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_oidc_login_flow(elbv2, acm, subnets, vpc_id, emulator_url, ca, idp):
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [backend])
        actions = [_oidc(idp), {"Type": "forward", "Order": 2, "TargetGroupArn": tg}]
        arn = listener(elbv2, lb, actions, protocol="HTTPS",
                       Certificates=[{"CertificateArn": import_certificate(acm, ca)}])
        addr = address(listener_url(emulator_url, arn))

        first = https_request(addr, ca, "/app?x=1")
        assert first.status == 302 and first.header("Server") == "awselb/2.0"
        location = urlsplit(first.header("Location"))
        assert f"{location.scheme}://{location.netloc}{location.path}" == f"http://127.0.0.1:{idp.server_address[1]}/authorize"
        query = {k: v[0] for k, v in parse_qs(location.query).items()}
        assert query.pop("state")
        assert query == {"client_id": CLIENT_ID, "redirect_uri": "https://app.example.com/oauth2/idpresponse",
                         "response_type": "code", "scope": "openid"}

        state = parse_qs(location.query)["state"][0]
        assert https_request(addr, ca, f"/oauth2/idpresponse?code=wrong&state={state}").status == 561
        login = https_request(addr, ca, f"/oauth2/idpresponse?code={CODE}&state={state}")
        assert login.status == 302 and login.header("Location") == "/app?x=1"
        assert idp.seen[-1]["redirect_uri"] == ["https://app.example.com/oauth2/idpresponse"]
        cookie = login.header("Set-Cookie")
        assert cookie.startswith("AWSELBAuthSessionCookie-0=") and "Secure" in cookie and "HttpOnly" in cookie

        echoed = https_request(addr, ca, "/app", headers={"Cookie": cookie.split(";")[0]}).echoed()
        assert echoed["x-amzn-oidc-accesstoken"] == TOKEN
        assert echoed["x-amzn-oidc-identity"] == "user-1"
        header, payload, signature = echoed["x-amzn-oidc-data"].split(".")
        jwt_header = _b64json(header)
        assert jwt_header["alg"] == "ES256" and jwt_header["signer"] == lb and jwt_header["client"] == CLIENT_ID
        assert jwt_header["iss"] == "https://idp.example.com" and jwt_header["exp"] > 0
        assert _b64json(payload) == CLAIMS
        assert len(base64.urlsafe_b64decode(signature)) == 64  # ES256: r || s

        forged = cookie.split(";")[0][:-3] + "AAA"
        assert https_request(addr, ca, "/app", headers={"Cookie": forged}).status == 302  # bad MAC: log in again


def test_deny_and_allow(elbv2, acm, subnets, vpc_id, emulator_url, ca, idp):
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [backend])
        arn = listener(elbv2, lb, [_oidc(idp, OnUnauthenticatedRequest="deny"),
                                   {"Type": "forward", "Order": 2, "TargetGroupArn": tg}],
                       protocol="HTTPS", Certificates=[{"CertificateArn": import_certificate(acm, ca)}])
        elbv2.create_rule(ListenerArn=arn, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/public*"]}],
                          Actions=[_oidc(idp, OnUnauthenticatedRequest="allow"),
                                   {"Type": "forward", "Order": 2, "TargetGroupArn": tg}])
        addr = address(listener_url(emulator_url, arn))
        denied = https_request(addr, ca, "/private")
        assert denied.status == 401 and denied.header("Server") == "awselb/2.0"
        allowed = https_request(addr, ca, "/public/page")
        assert allowed.status == 200 and not any(k.startswith("x-amzn-oidc") for k in allowed.echoed())
