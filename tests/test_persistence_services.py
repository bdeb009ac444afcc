"""--state-dir covers moto's services too: after kill -9 and a restart, EC2, ACM, S3, IAM, WAFv2, Lambda and
CloudWatch describe exactly as before, ELBv2 works with the restored VPCs and security groups, and the
kill -9 loop of scripts/kill9_loop.py (5 trials here) loses nothing."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from benchlib import free_port  # noqa: E402
from kill9_loop import Server, run, self_signed  # noqa: E402

pytestmark = pytest.mark.usefixtures("aws_credentials")


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def _lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _make_everything(server: Server) -> dict[str, Any]:
    ec2, acm = server.ec2, server.acm
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    running, stopped = (i["InstanceId"] for i in ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=2, MaxCount=2, SubnetId=subnet)["Instances"])
    ec2.stop_instances(InstanceIds=[stopped])
    ec2.allocate_address(Domain="vpc")
    certificate, key = self_signed("restored.example.com")
    imported = acm.import_certificate(Certificate=certificate, PrivateKey=key)["CertificateArn"]
    requested = acm.request_certificate(DomainName="requested.example.com")["CertificateArn"]
    s3 = server.client("s3")
    s3.create_bucket(Bucket="restored-bucket")
    s3.put_object(Bucket="restored-bucket", Key="a/b.txt", Body=b"kept across kill -9")
    iam = server.client("iam")
    iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    iam.upload_server_certificate(ServerCertificateName="legacy", CertificateBody=certificate.decode(),
                                  PrivateKey=key.decode())
    role = iam.get_role(RoleName="lambda-role")["Role"]["Arn"]
    server.client("lambda").create_function(FunctionName="echo", Runtime="python3.12", Role=role,
                                            Handler="handler.handler", Code={"ZipFile": _lambda_zip()})
    server.client("wafv2").create_web_acl(
        Name="acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "acl"})
    cloudwatch = server.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName="high", MetricName="Load", Namespace="App", Statistic="Average", Period=60,
                                EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    return {"vpc": vpc, "subnet": subnet, "group": group, "running": running, "stopped": stopped,
            "imported": imported, "requested": requested}


def _describe_everything(server: Server, made: dict[str, Any]) -> dict[str, Any]:
    ec2, acm, s3, iam = server.ec2, server.acm, server.client("s3"), server.client("iam")
    instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    return {
        "vpcs": ec2.describe_vpcs()["Vpcs"],
        "subnets": ec2.describe_subnets()["Subnets"],
        "groups": ec2.describe_security_groups()["SecurityGroups"],
        "instances": sorted(instances, key=lambda i: i["InstanceId"]),
        "addresses": ec2.describe_addresses()["Addresses"],
        "certificates": [acm.describe_certificate(CertificateArn=made[k])["Certificate"] for k in ("imported", "requested")],
        "imported material": {k: v for k, v in acm.get_certificate(CertificateArn=made["imported"]).items()
                              if k != "ResponseMetadata"},
        "object": s3.get_object(Bucket="restored-bucket", Key="a/b.txt")["Body"].read(),
        "buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]],
        "role": iam.get_role(RoleName="lambda-role")["Role"],
        "server certificate": iam.get_server_certificate(ServerCertificateName="legacy")["ServerCertificate"],
        "function": server.client("lambda").get_function(FunctionName="echo")["Configuration"],
        "web acls": server.client("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"],
        "alarms": server.client("cloudwatch").describe_alarms()["MetricAlarms"],
    }


def test_every_service_describes_the_same_after_kill_9(tmp_path: Path) -> None:
    port = free_port()
    server = Server(tmp_path, port)
    made = _make_everything(server)
    before = _describe_everything(server, made)
    server.kill()
    server = Server(tmp_path, port)
    try:
        after = _describe_everything(server, made)
        for name in before:  # field by field, one service at a time, for a readable failure
            assert after[name] == before[name], name
        states = {i["InstanceId"]: i["State"]["Name"] for i in after["instances"]}
        assert (states[made["running"]], states[made["stopped"]]) == ("running", "stopped")
    finally:
        server.kill()


def test_elbv2_works_with_restored_vpc_subnets_and_security_groups(tmp_path: Path) -> None:
    port = free_port()
    server = Server(tmp_path, port)
    ec2 = server.ec2
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.7.{n}.0/24", AvailabilityZone=f"us-east-1{zone}")[
        "Subnet"]["SubnetId"] for n, zone in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
    server.kill()
    server = Server(tmp_path, port)
    try:
        restored_default = server.ec2.describe_vpcs(VpcIds=[default_vpc["VpcId"]])["Vpcs"][0]
        assert restored_default == default_vpc  # the default VPC kept its ID and everything else
        elbv2 = server.elbv2
        lb = elbv2.create_load_balancer(Name="in-restored-vpc", Subnets=subnets)["LoadBalancers"][0]
        assert lb["VpcId"] == vpc
        elbv2.set_security_groups(LoadBalancerArn=lb["LoadBalancerArn"], SecurityGroups=[group])
        group_arn = elbv2.create_target_group(Name="restored", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
        assert group_arn["VpcId"] == vpc
    finally:
        server.kill()


def test_reset_forgets_moto_state_for_good(tmp_path: Path) -> None:
    port = free_port()
    server = Server(tmp_path, port)
    vpc = server.ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    requests.post(f"{server.url}/moto-api/reset", timeout=10).raise_for_status()
    server.kill()
    server = Server(tmp_path, port)
    try:
        assert vpc not in [v["VpcId"] for v in server.ec2.describe_vpcs()["Vpcs"]]
    finally:
        server.kill()


def test_kill_9_loop_loses_nothing(tmp_path: Path) -> None:
    """The short run of scripts/kill9_loop.py: ELBv2, EC2 and ACM calls, kill -9, restart, HTTPS/TLS handshakes."""
    assert run(5, tmp_path, report=lambda line: None) == []


def test_a_web_acl_still_decides_alb_traffic_after_kill_9(tmp_path: Path) -> None:
    """WAFv2's state is restored before the data plane reads it: the first request after the restart is already
    decided by the associated web ACL (README "AWS WAF web ACLs")."""
    import http.client

    from tests.backends import HttpEcho
    from tests.nlb_support import wait_healthy

    def status(address: tuple[str, int], source: str) -> int:
        connection = http.client.HTTPConnection(*address, timeout=5, source_address=(source, 0))
        try:
            connection.request("GET", "/")
            return connection.getresponse().status
        finally:
            connection.close()

    port = free_port()
    with HttpEcho() as backend:
        server = Server(tmp_path, port)
        try:
            ec2, elbv2, waf = server.ec2, server.elbv2, server.client("wafv2")
            vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
            zones: dict[str, str] = {}
            for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
                zones.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
            lb = elbv2.create_load_balancer(Name="waf-kept", Subnets=sorted(zones.values())[:2])[
                "LoadBalancers"][0]["LoadBalancerArn"]
            tg = elbv2.create_target_group(Name="waf-kept", Protocol="HTTP", Port=80, VpcId=vpc,
                                           TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
            listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=free_port(), DefaultActions=[
                {"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]["ListenerArn"]
            elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": backend.host, "Port": backend.port}])
            ip_set = waf.create_ip_set(Name="kept", Scope="REGIONAL", IPAddressVersion="IPV4",
                                       Addresses=["127.0.0.2/32"])["Summary"]["ARN"]
            visibility = {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "m"}
            acl = waf.create_web_acl(Name="kept", Scope="REGIONAL", DefaultAction={"Allow": {}},
                                     VisibilityConfig=visibility, Rules=[{
                                         "Name": "ip", "Priority": 0, "Action": {"Block": {}},
                                         "VisibilityConfig": visibility,
                                         "Statement": {"IPSetReferenceStatement": {"ARN": ip_set}}}])["Summary"]
            waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=lb)
            wait_healthy(elbv2, tg)
            assert status(server.listener_addresses()[listener], "127.0.0.2") == 403
        finally:
            server.kill()
        server = Server(tmp_path, port)
        try:
            wait_healthy(server.elbv2, tg)
            address = server.listener_addresses()[listener]
            assert status(address, "127.0.0.2") == 403
            assert status(address, "127.0.0.1") == 200
        finally:
            server.kill()
