"""jwt-validation before forward on an HTTPS listener: RS256 bearer tokens checked against a JWKS served over
TLS on 127.0.0.1 (its trustme CA handed to the data plane through ELBV2_EMULATOR_CA_BUNDLE)."""

from __future__ import annotations

import json
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import trustme
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.alb_support import address, alb, free_port, listener, listener_url, target_group
from tests.alb_tls_support import https_request, import_certificate
from tests.backends import HttpEcho

ISSUER = "https://issuer.example.com"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CLAIMS = [
    {"Format": "single-string", "Name": "tenant", "Values": ["acme", "globex"]},
    {"Format": "string-array", "Name": "groups", "Values": ["admins"]},
    {"Format": "space-separated-values", "Name": "scope", "Values": ["orders:read", "orders:write"]},
]
GOOD = {"tenant": "acme", "groups": ["staff", "admins"], "scope": "openid orders:read"}


class _Jwks(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        jwk = RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True) | {"alg": "RS256", "use": "sig"}
        keys = [jwk | {"kid": f"k{i}"} for i in range(1, self.server.key_count + 1)]  # type: ignore[attr-defined]
        body = json.dumps({"keys": keys}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def jwks(ca, tmp_path, monkeypatch):
    """An HTTPS JWKS endpoint whose CA the data plane trusts via ELBV2_EMULATOR_CA_BUNDLE."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("ELBV2_EMULATOR_CA_BUNDLE", str(bundle))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    server.hits, server.key_count = 0, 1  # type: ignore[attr-defined]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _token(key=KEY, kid: str = "k1", algorithm: str = "RS256", **claims: object) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "exp": now + 300, "iat": now, "sub": "svc-1"} | GOOD | claims
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm=algorithm,
                      headers={"kid": kid})


def _https_listener(elbv2, acm, subnets, vpc_id, ca, backend, endpoint: str) -> str:
    lb = alb(elbv2, subnets)
    tg = target_group(elbv2, vpc_id, "tg", [backend])
    validation = {"Type": "jwt-validation", "Order": 1, "JwtValidationConfig": {
        "JwksEndpoint": endpoint, "Issuer": ISSUER, "AdditionalClaims": CLAIMS}}
    return listener(elbv2, lb, [validation, {"Type": "forward", "Order": 2, "TargetGroupArn": tg}],
                    protocol="HTTPS", Certificates=[{"CertificateArn": import_certificate(acm, ca)}])


def test_valid_token_is_forwarded_as_is(elbv2, acm, subnets, vpc_id, emulator_url, ca, jwks):
    with HttpEcho() as backend:
        arn = _https_listener(elbv2, acm, subnets, vpc_id, ca, backend,
                              f"https://127.0.0.1:{jwks.server_address[1]}/.well-known/jwks.json")
        addr = address(listener_url(emulator_url, arn))
        token = _token()

        def get(_: int) -> tuple[int, str]:
            response = https_request(addr, ca, "/orders", headers={"Authorization": f"Bearer {token}"})
            return response.status, response.echoed()["authorization"]

        with ThreadPoolExecutor(4) as pool:  # the first requests wait for one shared JWKS fetch
            assert set(pool.map(get, range(4))) == {(200, f"Bearer {token}")}
        assert get(0) == (200, f"Bearer {token}")
        assert jwks.hits == 1  # cached per endpoint


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic dXNlcjpwdw=="},
    {"Authorization": "Bearer not-a-jwt"},
    {"Authorization": f"Bearer {_token(exp=int(time.time()) - 60)}"},
    {"Authorization": f"Bearer {_token(exp=None)}"},
    {"Authorization": f"Bearer {_token(nbf=int(time.time()) + 600)}"},
    {"Authorization": f"Bearer {_token(iss='https://evil.example.com')}"},
    {"Authorization": f"Bearer {_token(key=OTHER_KEY)}"},  # right kid, wrong signature
    {"Authorization": f"Bearer {_token(kid='unknown')}"},
    {"Authorization": f"Bearer {_token(key='shared-secret-long-enough-for-hs256!', algorithm='HS256')}"},
    {"Authorization": f"Bearer {_token(tenant=None)}"},
    {"Authorization": f"Bearer {_token(tenant='initech')}"},
    {"Authorization": f"Bearer {_token(groups='admins')}"},  # a string where an array is expected
    {"Authorization": f"Bearer {_token(scope='openid profile')}"},
], ids=["missing", "basic", "garbage", "expired", "no-exp", "not-yet-valid", "wrong-issuer", "bad-signature",
        "unknown-kid", "hs256", "missing-claim", "wrong-single-string", "array-as-string", "no-scope-value"])
def test_invalid_token_is_refused(elbv2, acm, subnets, vpc_id, emulator_url, ca, jwks, headers):
    with HttpEcho() as backend:
        arn = _https_listener(elbv2, acm, subnets, vpc_id, ca, backend,
                              f"https://127.0.0.1:{jwks.server_address[1]}/jwks")
        response = https_request(address(listener_url(emulator_url, arn)), ca, "/orders", headers=headers)
        assert response.status == 401 and response.header("Server") == "awselb/2.0"  # the target never answers


def test_unreachable_jwks_is_a_500(elbv2, acm, subnets, vpc_id, emulator_url, ca, jwks):
    with HttpEcho() as backend:
        arn = _https_listener(elbv2, acm, subnets, vpc_id, ca, backend, f"https://127.0.0.1:{free_port()}/jwks")
        response = https_request(address(listener_url(emulator_url, arn)), ca, "/orders",
                                 headers={"Authorization": f"Bearer {_token()}"})
        assert response.status == 500 and response.header("Server") == "awselb/2.0"


def test_untrusted_jwks_certificate_is_a_500(elbv2, acm, subnets, vpc_id, emulator_url, ca, jwks, monkeypatch):
    monkeypatch.delenv("ELBV2_EMULATOR_CA_BUNDLE")  # AWS verifies the endpoint's certificate
    with HttpEcho() as backend:
        arn = _https_listener(elbv2, acm, subnets, vpc_id, ca, backend,
                              f"https://127.0.0.1:{jwks.server_address[1]}/untrusted")
        response = https_request(address(listener_url(emulator_url, arn)), ca, "/orders",
                                 headers={"Authorization": f"Bearer {_token()}"})
        assert response.status == 500 and jwks.hits == 0


def test_jwks_over_ten_keys_is_a_500(elbv2, acm, subnets, vpc_id, emulator_url, ca, jwks):
    jwks.key_count = 11  # AWS: at most 10 keys (and 150 KB), otherwise the request is not forwarded
    with HttpEcho() as backend:
        arn = _https_listener(elbv2, acm, subnets, vpc_id, ca, backend,
                              f"https://127.0.0.1:{jwks.server_address[1]}/many")
        response = https_request(address(listener_url(emulator_url, arn)), ca, "/orders",
                                 headers={"Authorization": f"Bearer {_token()}"})
        assert response.status == 500 and jwks.hits == 1


def test_token_is_refused_once_it_expires(elbv2, acm, subnets, vpc_id, emulator_url, ca, jwks):
    with HttpEcho() as backend:
        arn = _https_listener(elbv2, acm, subnets, vpc_id, ca, backend,
                              f"https://127.0.0.1:{jwks.server_address[1]}/short")
        addr = address(listener_url(emulator_url, arn))
        headers = {"Authorization": f"Bearer {_token(exp=int(time.time()) + 2)}"}
        assert https_request(addr, ca, "/orders", headers=headers).status == 200
        deadline = time.monotonic() + 6
        while (status := https_request(addr, ca, "/orders", headers=headers).status) == 200:
            assert time.monotonic() < deadline, "a remembered token outlived its exp"
            time.sleep(0.2)  # polling a clock-driven change (the token's exp), not waiting for state
        assert status == 401
