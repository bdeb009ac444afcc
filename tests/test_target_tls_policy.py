"""The security policy of the connections to targets follows the listener's ("Security policies for your
Application Load Balancer" and "Security policies for your Network Load Balancer", Considerations): a TLS 1.3
listener policy -> ELBSecurityPolicy-TLS13-1-0-2021-06, a FIPS one (ALB) -> ...-TLS13-1-0-FIPS-2023-04,
anything else (an HTTP listener included) -> ELBSecurityPolicy-2016-08, which has no TLS 1.3.

The targets here are TLS servers that record what each handshake negotiated and what the load balancer offered."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest
import requests
import trustme

from tests import alb_support, nlb_support
from tests.alb_support import RawBackend, read_head
from tests.alb_tls_support import https_request, import_certificate
from tests.backends import HttpEcho


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


class TlsTarget:
    """A TLS target answering HTTP (``http=True``) or echoing bytes; ``handshakes`` holds, per connection,
    (negotiated version, the TLS 1.3 suites the load balancer offered). ``minimum``: the oldest version it accepts."""

    def __init__(self, ca: trustme.CA, http: bool, minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.context.minimum_version = minimum
        self.http = http
        self.handshakes: list[tuple[str, set[str]]] = []
        self.lock = threading.Lock()
        self.backend = RawBackend(self._serve)

    def _serve(self, sock: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            return  # refused the offer (the load balancer answers 502, or resets the flow)
        with tls:
            offered = {name for name, _, _ in tls.shared_ciphers() or () if name.startswith("TLS_")}
            with self.lock:
                self.handshakes.append((tls.version() or "", offered))
            if self.http:  # keep-alive: the load balancer may pool the connection
                try:
                    while True:
                        read_head(tls)
                        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                except (ConnectionError, OSError):
                    return
            else:
                while data := tls.recv(65536):
                    tls.sendall(data)

    def __enter__(self) -> TlsTarget:
        self.backend.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.backend.__exit__(*exc)

    @property
    def port(self) -> int:
        return self.backend.port


def _https_group(elbv2, vpc_id, name: str, target: TlsTarget, health: HttpEcho) -> list[dict]:
    """A forward action to an HTTPS target group holding ``target`` (health-checked over HTTP on ``health``)."""
    arn = elbv2.create_target_group(Name=name, Protocol="HTTPS", Port=443, VpcId=vpc_id, TargetType="ip",
                                    HealthCheckProtocol="HTTP", HealthCheckPort=str(health.port),
                                    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": target.port}])
    alb_support.wait_checked(elbv2, arn)
    return alb_support.forward(arn)


def test_an_http_listener_reaches_https_targets_with_2016_08_so_without_tls13(elbv2, subnets, vpc_id, emulator_url, ca):
    with HttpEcho("health") as health, TlsTarget(ca, http=True) as target, \
            TlsTarget(ca, http=True, minimum=ssl.TLSVersion.TLSv1_3) as tls13_only:
        lb = alb_support.alb(elbv2, subnets)
        url = alb_support.listener_url(emulator_url, alb_support.listener(
            elbv2, lb, _https_group(elbv2, vpc_id, "tls", target, health)))
        assert requests.get(f"{url}/", timeout=5).text == "ok"
        assert target.handshakes == [("TLSv1.2", set())]

        strict_url = alb_support.listener_url(emulator_url, alb_support.listener(
            elbv2, lb, _https_group(elbv2, vpc_id, "tls13-only", tls13_only, health)))
        assert requests.get(f"{strict_url}/", timeout=5).status_code == 502  # no common version
        assert tls13_only.handshakes == []


@pytest.mark.parametrize(("listener_policy", "suites"), [
    ("ELBSecurityPolicy-TLS13-1-2-Res-2021-06",  # -> TLS13-1-0-2021-06: all three TLS 1.3 suites
     {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}),
    ("ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",  # -> TLS13-1-0-FIPS-2023-04: no ChaCha20
     {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"}),
])
def test_a_tls13_https_listener_reaches_targets_over_tls13_with_its_backend_policys_suites(
        listener_policy, suites, elbv2, acm, subnets, vpc_id, emulator_url, ca):
    with HttpEcho("health") as health, TlsTarget(ca, http=True, minimum=ssl.TLSVersion.TLSv1_3) as target:
        lb = alb_support.alb(elbv2, subnets)
        arn = alb_support.listener(elbv2, lb, _https_group(elbv2, vpc_id, "tls", target, health), protocol="HTTPS", SslPolicy=listener_policy,
                                   Certificates=[{"CertificateArn": import_certificate(acm, ca)}])
        addr = alb_support.address(alb_support.listener_url(emulator_url, arn))
        assert https_request(addr, ca).status == 200
        assert target.handshakes == [("TLSv1.3", suites)]


def test_nlb_tls_listener_reaches_tls_targets_by_its_backend_policy(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    """TLS 1.3 listener policy -> TLS 1.3 to the target; 2016-08 -> TLS 1.2 (the NLB page names no FIPS case)."""
    cert = [{"CertificateArn": import_certificate(acm, ca)}]
    with TlsTarget(ca, http=False) as target:
        lb = nlb_support.nlb(elbv2, subnets)
        tg = nlb_support.target_group(elbv2, vpc_id, "tls", protocol="TLS", ports=[target.port])
        for port, policy, version in ((7443, "ELBSecurityPolicy-2016-08", "TLSv1.2"),
                                      (7444, "ELBSecurityPolicy-TLS13-1-2-2021-06", "TLSv1.3")):
            arn = nlb_support.listener(elbv2, lb, tg, protocol="TLS", port=port, Certificates=cert, SslPolicy=policy)
            context = ssl.create_default_context()
            ca.configure_trust(context)
            address = nlb_support.listener_address(emulator_url, arn)
            with socket.create_connection(address, timeout=5) as raw, \
                    context.wrap_socket(raw, server_hostname="app.example.com") as tls:
                tls.sendall(b"ping")
                assert tls.recv(16) == b"ping"
            assert target.handshakes[-1][0] == version


def test_a_modified_listener_policy_applies_to_pooled_target_connections(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    """The idle connection made under the old back-end policy is not reused: the next request handshakes again."""
    with HttpEcho("health") as health, TlsTarget(ca, http=True) as target:
        lb = alb_support.alb(elbv2, subnets)
        arn = alb_support.listener(elbv2, lb, _https_group(elbv2, vpc_id, "tls", target, health), protocol="HTTPS",
                                   SslPolicy="ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
                                   Certificates=[{"CertificateArn": import_certificate(acm, ca)}])
        addr = alb_support.address(alb_support.listener_url(emulator_url, arn))
        assert https_request(addr, ca).status == https_request(addr, ca).status == 200
        assert [version for version, _ in target.handshakes] == ["TLSv1.3"]  # the second reused the first
        elbv2.modify_listener(ListenerArn=arn, SslPolicy="ELBSecurityPolicy-2016-08")
        assert https_request(addr, ca).status == 200
        assert [version for version, _ in target.handshakes] == ["TLSv1.3", "TLSv1.2"]
