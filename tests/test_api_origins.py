"""Browsers and the API: a foreign web page cannot drive the emulator (README "Browsers and the API").

Each test is a browser's request made by hand with ``requests`` (Origin, Referer, Host and preflight
headers as a browser sends them) against a live server; what a refused request would have done is
checked afterwards with boto3, which sends no Origin and must keep working unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from emulator.api.origins import OriginSettings
from emulator.server import EmulatorServer
from tests.alb_support import address, free_port
from tests.server_process import emulator_process

EVIL = "http://evil.example"
CREATE_TG = {"Action": "CreateTargetGroup", "Version": "2015-12-01", "Name": "csrf", "Protocol": "HTTP",
             "Port": "80", "TargetType": "ip"}
DESCRIBE_TGS = {"Action": "DescribeTargetGroups", "Version": "2015-12-01"}
# What the AWS SDK for JavaScript v3 in a browser asks to send on an elbv2 call.
JS_SDK_HEADERS = "amz-sdk-invocation-id,amz-sdk-request,authorization,content-type,x-amz-date,x-amz-user-agent"


def _assert_refused(response: requests.Response, mentions: str) -> None:
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text and mentions in response.text
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def _preflight(url: str, origin: str, **headers: str) -> requests.Response:
    return requests.options(url, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": JS_SDK_HEADERS, **headers}, timeout=5)


def _target_group_names(elbv2: Any) -> list[str]:
    return [tg["TargetGroupName"] for tg in elbv2.describe_target_groups()["TargetGroups"]]


@pytest.fixture
def _server_with(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    host, settings = request.param
    server = EmulatorServer(host=host, port=0, origins=settings).start()
    yield server
    server.stop()


def _local_url(server: EmulatorServer) -> str:
    """The server's URL on 127.0.0.1 (a server bound on 0.0.0.0 reports that address)."""
    return f"http://127.0.0.1:{address(server.url)[1]}"


# -- refused ----------------------------------------------------------------------------------------------


def test_cross_origin_form_post_of_create_target_group_is_refused_and_not_applied(emulator_url: str, elbv2,
                                                                                  vpc_id) -> None:
    response = requests.post(emulator_url, data={**CREATE_TG, "VpcId": vpc_id}, headers={"Origin": EVIL}, timeout=5)
    _assert_refused(response, "Origin 'http://evil.example'")
    assert _target_group_names(elbv2) == []


def test_cross_origin_delete_target_group_is_refused_and_the_group_kept(emulator_url: str, elbv2, vpc_id) -> None:
    created = elbv2.create_target_group(Name="kept", Protocol="HTTP", Port=80, VpcId=vpc_id)
    arn = created["TargetGroups"][0]["TargetGroupArn"]
    delete = {"Action": "DeleteTargetGroup", "Version": "2015-12-01", "TargetGroupArn": arn}
    _assert_refused(requests.post(emulator_url, data=delete, headers={"Origin": EVIL}, timeout=5), "evil.example")
    assert _target_group_names(elbv2) == ["kept"]


def test_a_foreign_referer_without_origin_is_refused(emulator_url: str, elbv2, vpc_id) -> None:
    response = requests.post(emulator_url, data={**CREATE_TG, "VpcId": vpc_id},
                             headers={"Referer": "https://evil.example/page.html?x=1"}, timeout=5)
    _assert_refused(response, "Origin 'https://evil.example'")
    assert _target_group_names(elbv2) == []


def test_a_foreign_preflight_gets_403_and_no_cors_headers(emulator_url: str) -> None:
    _assert_refused(_preflight(emulator_url, EVIL), "evil.example")


def test_state_dump_and_ec2_answers_are_not_readable_cross_origin(emulator_url: str) -> None:
    _assert_refused(requests.get(f"{emulator_url}/moto-api/data.json", headers={"Origin": EVIL}, timeout=5), "evil")
    describe_vpcs = f"{emulator_url}/?Action=DescribeVpcs&Version=2016-11-15"
    _assert_refused(requests.get(describe_vpcs, headers={"Origin": EVIL}, timeout=5), "evil")


def test_a_rebound_host_is_refused_even_without_origin(emulator_url: str) -> None:
    port = address(emulator_url)[1]
    for path in ("/moto-api/data.json", "/_emulator/health", "/_emulator/dns"):
        response = requests.get(f"{emulator_url}{path}", headers={"Host": f"evil.example:{port}"}, timeout=5)
        _assert_refused(response, "Host 'evil.example:")
    # On loopback, compose-style names are not accepted by default either (they are in a container).
    _assert_refused(requests.get(emulator_url, headers={"Host": f"elbv2-emulator:{port}"}, timeout=5), "elbv2-emulator")


def test_reset_with_foreign_host_and_origin_is_refused_and_state_kept(emulator_url: str, elbv2, vpc_id) -> None:
    elbv2.create_target_group(Name="survivor", Protocol="HTTP", Port=80, VpcId=vpc_id)
    for headers in ({"Host": "evil.example", "Origin": EVIL}, {"Origin": EVIL}, {"Host": "evil.example"}):
        _assert_refused(requests.post(f"{emulator_url}/moto-api/reset", headers=headers, timeout=5), "evil.example")
    assert _target_group_names(elbv2) == ["survivor"]


def test_the_null_origin_of_sandboxed_frames_is_refused_by_default(emulator_url: str) -> None:
    # A sandboxed iframe on any site sends "Origin: null", so "null" is never trusted unless listed.
    _assert_refused(requests.post(emulator_url, data=DESCRIBE_TGS, headers={"Origin": "null"}, timeout=5), "'null'")


# -- allowed ----------------------------------------------------------------------------------------------


def test_sdk_calls_without_origin_are_unchanged(emulator_url: str, elbv2) -> None:
    response = requests.post(emulator_url, data=DESCRIBE_TGS, timeout=5)
    assert response.status_code == 200
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


@pytest.mark.parametrize("origin", ["http://localhost:3000", "https://localhost", "http://127.0.0.1:8080",
                                    "http://app.localhost:5173", "http://[::1]:3000", "file://"])
def test_pages_on_this_machine_may_call_the_api_with_cors_headers(emulator_url: str, elbv2, vpc_id, origin) -> None:
    preflight = _preflight(emulator_url, origin)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert preflight.headers["Access-Control-Allow-Headers"] == JS_SDK_HEADERS
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"].split(",")
    response = requests.post(emulator_url, data={**CREATE_TG, "VpcId": vpc_id}, headers={"Origin": origin}, timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "x-amzn-requestid" in response.headers["Access-Control-Expose-Headers"]
    assert _target_group_names(elbv2) == ["csrf"]


def test_moto_answers_carry_our_cors_headers_only(emulator_url: str) -> None:
    local = {"Origin": "http://localhost:3000"}
    response = requests.get(f"{emulator_url}/moto-api/data.json", headers=local, timeout=5)
    assert response.status_code == 200
    # One Access-Control-Allow-Origin (requests would join duplicates with ", "), one Origin in Vary.
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert [token.strip() for token in response.headers["Vary"].split(",")].count("Origin") == 1


def test_the_api_own_origin_and_loopback_hosts_are_accepted(emulator_url: str) -> None:
    port = address(emulator_url)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"127.9.9.9:{port}", "LOCALHOST."):
        assert requests.get(f"{emulator_url}/_emulator/health", headers={"Host": host}, timeout=5).status_code == 200
    same_origin = requests.get(f"{emulator_url}/_emulator/health", headers={"Origin": emulator_url}, timeout=5)
    assert same_origin.status_code == 200 and same_origin.headers["Access-Control-Allow-Origin"] == emulator_url


def test_load_balancer_dns_names_are_accepted_as_host_while_they_exist(emulator_url: str, elbv2, subnets) -> None:
    lb = elbv2.create_load_balancer(Name="named", Subnets=subnets)["LoadBalancers"][0]
    health = f"{emulator_url}/_emulator/health"
    # While it exists, its name routes to it (README "Reaching listeners through the API port"): this one has
    # no listener to serve it, which its answer says; once deleted, the name is a foreign Host again.
    answer = requests.get(health, headers={"Host": f"{lb['DNSName'].upper()}:80"}, timeout=5)
    assert answer.status_code == 404 and "load balancer named has no listener" in answer.text
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    _assert_refused(requests.get(health, headers={"Host": lb["DNSName"]}, timeout=5), lb["DNSName"])


# -- configuration ----------------------------------------------------------------------------------------

EXTRA = OriginSettings(extra_allowed_origins=("https://App.Example.com/", "null"),
                       extra_allowed_hosts=("emulator.test", "*.dev.test"))


@pytest.mark.parametrize("_server_with", [("127.0.0.1", EXTRA)], indirect=True)
def test_extra_origins_and_hosts_are_accepted_and_nothing_else(_server_with: EmulatorServer) -> None:
    url = _local_url(_server_with)
    for origin in ("https://app.example.com", "null"):
        assert _preflight(url, origin).headers["Access-Control-Allow-Origin"] == origin
        assert requests.post(url, data=DESCRIBE_TGS, headers={"Origin": origin}, timeout=5).status_code == 200
    _assert_refused(requests.post(url, data=DESCRIBE_TGS, headers={"Origin": "http://app.example.com"}, timeout=5),
                    "app.example.com")
    for host in ("emulator.test", "api.dev.test:4566"):
        assert requests.get(url, headers={"Host": host}, timeout=5).status_code != 403
    for host in ("dev.test", "emulator.test.evil.example"):
        _assert_refused(requests.get(url, headers={"Host": host}, timeout=5), host)


@pytest.mark.parametrize("_server_with", [("127.0.0.1", OriginSettings(disable_checks=True))], indirect=True)
def test_the_off_switch_serves_every_origin_and_host(_server_with: EmulatorServer) -> None:
    url = _local_url(_server_with)
    assert _preflight(url, EVIL).headers["Access-Control-Allow-Origin"] == EVIL
    assert requests.get(f"{url}/_emulator/health", headers={"Host": "evil.example"}, timeout=5).status_code == 200
    form = {**CREATE_TG, "VpcId": _default_vpc(url)}
    response = requests.post(url, data=form, headers={"Origin": EVIL, "Host": "evil.example"}, timeout=5)
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == EVIL
    assert _target_group_names(_elbv2(url)) == ["csrf"]


@pytest.mark.parametrize("_server_with", [("0.0.0.0", None)], indirect=True)
def test_container_mode_accepts_service_names_and_addresses_but_not_dotted_names(_server_with: EmulatorServer) -> None:
    url = _local_url(_server_with)
    health = f"{url}/_emulator/health"
    for host in ("elbv2-emulator:4566", "localstack", "10.0.0.5:4566", "[fd00::5]:4566", "localhost:4566"):
        assert requests.get(health, headers={"Host": host}, timeout=5).status_code == 200, host
    for host in ("evil.example", "elbv2-emulator.evil.example:4566"):
        _assert_refused(requests.get(health, headers={"Host": host}, timeout=5), host)
    # A page served by the service's own origin (same-origin) may call it; a foreign page may not.
    own = {"Host": "elbv2-emulator:4566", "Origin": "http://elbv2-emulator:4566"}
    assert requests.post(url, data=DESCRIBE_TGS, headers=own, timeout=5).status_code == 200
    _assert_refused(requests.post(url, data=DESCRIBE_TGS, headers={**own, "Origin": "http://other:4566"}, timeout=5),
                    "http://other:4566")


def test_cli_reads_the_settings_from_environment_variables() -> None:
    port = free_port()
    env = {**os.environ, "ELBV2_EMULATOR_EXTRA_CORS_ALLOWED_ORIGINS": "https://app.example.com, https://b.example",
           "ELBV2_EMULATOR_EXTRA_ALLOWED_HOSTS": "emulator.test"}
    with emulator_process(port=port, env=env) as (url, _):
        assert requests.get(url, headers={"Host": "emulator.test"}, timeout=5).status_code != 403
        assert requests.post(url, data=DESCRIBE_TGS, headers={"Origin": "https://b.example"}, timeout=5).ok
        _assert_refused(requests.post(url, data=DESCRIBE_TGS, headers={"Origin": EVIL}, timeout=5), "evil")


def _elbv2(url: str) -> Any:
    return boto3.client("elbv2", endpoint_url=url, region_name="us-east-1")


def _default_vpc(url: str) -> str:
    ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1")
    return ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
