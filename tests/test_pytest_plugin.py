"""The pytest plugin as its users meet it: pytester runs small user test files in a fresh pytest process, where
the plugin comes from the package's ``pytest11`` entry point (issue 12, point 1)."""

from __future__ import annotations

import pytest

# A user's test file: Terraform-style infrastructure (a security group open on 80, an internet-facing ALB in two
# subnets, an HTTP target group with a health check, an HTTP:80 listener), then traffic by the DNS name.
USER_TESTS = '''
import http.server, json, os, socket, threading

import boto3
import pytest
import requests


@pytest.fixture
def backend():
    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path, "xff": self.headers.get("X-Forwarded-For")}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_alb_with_terraform_style_settings_serves_its_dns_name(elbv2_emulator, backend):
    ec2, elbv2 = elbv2_emulator.client("ec2"), elbv2_emulator.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
    sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    lb = elbv2.create_load_balancer(Name="web", Subnets=subnets, SecurityGroups=[sg], Scheme="internet-facing",
                                    Type="application", IpAddressType="ipv4")["LoadBalancers"][0]
    tg = elbv2.create_target_group(Name="web", Protocol="HTTP", Port=backend, VpcId=vpc, TargetType="ip",
                                   HealthCheckPath="/health", Matcher={"HttpCode": "200"})["TargetGroups"][0]
    elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": backend}])
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    elbv2.get_waiter("target_in_service").wait(TargetGroupArn=tg["TargetGroupArn"])

    answer = requests.get(f"http://{lb['DNSName']}/hello", timeout=5).json()
    assert answer["path"] == "/hello" and answer["xff"] == "127.0.0.1"
    assert socket.gethostbyname(lb["DNSName"]) == elbv2_emulator.address(lb["DNSName"])


def test_code_that_builds_its_own_clients_reaches_the_emulator(elbv2_emulator):
    assert os.environ["AWS_ENDPOINT_URL"] == elbv2_emulator.url
    names = [b["LoadBalancerName"] for b in boto3.client("elbv2").describe_load_balancers()["LoadBalancers"]]
    assert names == ["web"]  # the previous test's, on the same session-wide emulator


def test_reset_gives_a_clean_slate(elbv2_emulator_reset):
    assert elbv2_emulator_reset.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
'''

# Records what the session left in the environment once the plugin's fixture is finished.
ENVIRONMENT_PROBE = '''
import json, os

def pytest_sessionfinish(session):
    with open("environment-after.json", "w") as out:
        json.dump({name: os.environ.get(name) for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID")}, out)
'''


def test_a_user_suite_gets_an_emulator_with_real_traffic(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "the-users-own")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    pytester.makepyfile(test_users_infrastructure=USER_TESTS)
    pytester.makeconftest(ENVIRONMENT_PROBE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=180)
    result.assert_outcomes(passed=3)
    after = (pytester.path / "environment-after.json").read_text()
    assert '"AWS_ENDPOINT_URL": null' in after and '"AWS_ACCESS_KEY_ID": "the-users-own"' in after  # restored


def test_the_plugin_costs_nothing_to_a_suite_that_does_not_use_it(pytester: pytest.Pytester):
    pytester.makepyfile(test_plain="""
import sys

def test_no_emulator_was_started_or_imported():
    assert "emulator.server" not in sys.modules and "moto" not in sys.modules
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(passed=1)


def test_an_external_endpoint_is_used_instead_of_starting_one(pytester: pytest.Pytester, emulator_url, elbv2):
    # As a CI job that started the emulator's container would run its suite.
    pytester.makepyfile(test_external="""
def test_creates_on_the_given_endpoint(elbv2_emulator):
    assert elbv2_emulator.server is None
    ec2 = elbv2_emulator.client("ec2")
    zones = {}
    for s in ec2.describe_subnets()["Subnets"]:
        zones.setdefault(s["AvailabilityZone"], s["SubnetId"])
    elbv2_emulator.client("elbv2").create_load_balancer(Name="from-outside", Subnets=list(zones.values())[:2])
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--elbv2-emulator-endpoint={emulator_url}",
                                           timeout=120)
    result.assert_outcomes(passed=1)
    assert [b["LoadBalancerName"] for b in elbv2.describe_load_balancers()["LoadBalancers"]] == ["from-outside"]
