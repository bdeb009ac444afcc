"""CloudFormation stacks create the emulator's own load balancers: all seven AWS::ElasticLoadBalancingV2 types,
Ref and Fn::GetAtt, updates in place and by replacement, deletion, and rollback, with real traffic.

Return values and update behaviours: CloudFormation template reference, "AWS::ElasticLoadBalancingV2::*"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-loadbalancer.html
and its siblings); failure handling: CloudFormation User Guide, "Stack status codes".
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import boto3
import pytest
import requests
import trustme
from botocore.exceptions import ClientError

from tests.alb_support import free_port, listener_url, wait_checked
from tests.backends import HttpEcho
from tests.conftest import REGION
from tests.pki import crl, pem_bundle

BUCKET = "stack-material"

# A load balancer, two target groups (targets: the test's backends), a listener forwarding to the first and a
# rule sending one path to the second, each with attributes: Ref, GetAtt and Outputs are checked on all of them.
WEB_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Subnets: {Type: CommaDelimitedList}
  VpcId: {Type: String}
  ListenerPort: {Type: Number}
  AppPort: {Type: Number}
  ApiPort: {Type: Number}
  ApiPath: {Type: String, Default: "/api/*"}
  ApiGroupPort: {Type: Number, Default: 80}
  Scheme: {Type: String, Default: internet-facing}
Resources:
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Subnets: !Ref Subnets
      Scheme: !Ref Scheme
      LoadBalancerAttributes:
        - {Key: idle_timeout.timeout_seconds, Value: "30"}
      Tags:
        - {Key: team, Value: web}
  App:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      Name: app-targets
      Protocol: HTTP
      Port: 80
      VpcId: !Ref VpcId
      TargetType: ip
      HealthCheckIntervalSeconds: 10
      TargetGroupAttributes:
        - {Key: deregistration_delay.timeout_seconds, Value: 5}
      Targets:
        - {Id: 127.0.0.1, Port: !Ref AppPort}
  Api:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      Protocol: HTTP
      Port: !Ref ApiGroupPort
      VpcId: !Ref VpcId
      TargetType: ip
      Targets:
        - {Id: 127.0.0.1, Port: !Ref ApiPort}
  Web:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Protocol: HTTP
      Port: !Ref ListenerPort
      DefaultActions:
        - {Type: forward, TargetGroupArn: !Ref App}
      ListenerAttributes:
        - {Key: routing.http.response.server.enabled, Value: false}
  ApiRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Web
      Priority: 10
      Conditions:
        - {Field: path-pattern, PathPatternConfig: {Values: [!Ref ApiPath]}}
      Actions:
        - {Type: forward, TargetGroupArn: !Ref Api}
Outputs:
  AlbArn: {Value: !Ref Alb}
  AlbArnAttribute: {Value: !GetAtt Alb.LoadBalancerArn}
  DnsName: {Value: !GetAtt Alb.DNSName}
  ZoneId: {Value: !GetAtt Alb.CanonicalHostedZoneID}
  FullName: {Value: !GetAtt Alb.LoadBalancerFullName}
  AlbName: {Value: !GetAtt Alb.LoadBalancerName}
  AlbGroups: {Value: !Join [",", !GetAtt Alb.SecurityGroups]}
  AppArn: {Value: !Ref App}
  AppName: {Value: !GetAtt App.TargetGroupName}
  AppFullName: {Value: !GetAtt App.TargetGroupFullName}
  AppLoadBalancers: {Value: !Join [",", !GetAtt App.LoadBalancerArns]}
  ApiArn: {Value: !Ref Api}
  ListenerArn: {Value: !GetAtt Web.ListenerArn}
  RuleArn: {Value: !GetAtt ApiRule.RuleArn}
  RuleRef: {Value: !Ref ApiRule}
  RuleIsDefault: {Value: !GetAtt ApiRule.IsDefault}
"""


@pytest.fixture
def cloudformation(emulator_url: str):
    return boto3.client("cloudformation", endpoint_url=emulator_url, region_name=REGION)


@pytest.fixture
def s3(emulator_url: str):
    client = boto3.client("s3", endpoint_url=emulator_url, region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


def _parameters(**values: object) -> list[dict[str, str]]:
    return [{"ParameterKey": key, "ParameterValue": str(value)} for key, value in values.items()]


def _outputs(cloudformation, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def _status(cloudformation, stack: str) -> str:
    return cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]


def _get(url: str) -> dict:
    response = requests.get(url, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def _refused(url: str) -> bool:
    host, port = url.split("://")[1].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return True
    return False


@pytest.fixture
def web_stack(cloudformation, elbv2, subnets, vpc_id):
    """The web template deployed, its backends running: (parameters, outputs, app backend, api backend)."""
    with HttpEcho("app") as app, HttpEcho("api") as api:
        parameters = {"Subnets": ",".join(subnets), "VpcId": vpc_id, "ListenerPort": free_port(),
                      "AppPort": app.port, "ApiPort": api.port}
        started = time.monotonic()
        cloudformation.create_stack(StackName="web", TemplateBody=WEB_TEMPLATE, Parameters=_parameters(**parameters),
                                    Tags=[{"Key": "env", "Value": "test"}])  # stack-level: on every resource
        assert _status(cloudformation, "web") == "CREATE_COMPLETE"
        assert time.monotonic() - started < 5  # no provisioning waits under --timing fast
        outputs = _outputs(cloudformation, "web")
        wait_checked(elbv2, outputs["AppArn"])
        wait_checked(elbv2, _target_group(elbv2, "web", "Api"))
        yield parameters, outputs, app, api


def _target_group(elbv2, stack: str, logical_id: str) -> str:
    cloudformation = boto3.client("cloudformation", endpoint_url=elbv2.meta.endpoint_url, region_name=REGION)
    resource = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)
    return resource["StackResourceDetail"]["PhysicalResourceId"]


def test_stack_resources_are_the_emulators_and_carry_traffic(web_stack, cloudformation, elbv2, emulator_url) -> None:
    _, outputs, _, _ = web_stack
    lb = elbv2.describe_load_balancers()["LoadBalancers"]
    assert [b["LoadBalancerArn"] for b in lb] == [outputs["AlbArn"]]
    assert outputs["AlbArnAttribute"] == outputs["AlbArn"]
    assert outputs["DnsName"] == lb[0]["DNSName"]
    assert outputs["ZoneId"] == lb[0]["CanonicalHostedZoneId"]
    assert outputs["AlbName"] == lb[0]["LoadBalancerName"] and outputs["AlbName"].startswith("web-Alb-")
    assert outputs["FullName"] == f"app/{outputs['AlbName']}/{outputs['AlbArn'].rsplit('/', 1)[1]}"
    assert outputs["AlbGroups"] == ",".join(lb[0].get("SecurityGroups", []))
    assert outputs["AppName"] == "app-targets"
    assert outputs["AppFullName"] == outputs["AppArn"].split(":")[-1]
    assert outputs["AppFullName"].startswith("targetgroup/app-targets/")
    assert outputs["AppLoadBalancers"] == outputs["AlbArn"]  # resolved after the listener made the link
    assert outputs["RuleRef"] == outputs["RuleArn"] and outputs["RuleIsDefault"] == "false"

    # The attribute properties went through the Modify*Attributes code: the values, and the defaults around them.
    lb_attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(
        LoadBalancerArn=outputs["AlbArn"])["Attributes"]}
    assert lb_attributes["idle_timeout.timeout_seconds"] == "30"
    assert lb_attributes["deletion_protection.enabled"] == "false"
    tg_attributes = {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(
        TargetGroupArn=outputs["AppArn"])["Attributes"]}
    assert tg_attributes["deregistration_delay.timeout_seconds"] == "5"
    # The template's tags, and those CloudFormation adds to what it creates ("Resource tag").
    tags = {t["Key"]: t["Value"] for t in elbv2.describe_tags(ResourceArns=[outputs["AlbArn"]])["TagDescriptions"][0]["Tags"]}
    stack_id = cloudformation.describe_stacks(StackName="web")["Stacks"][0]["StackId"]
    assert tags == {"team": "web", "env": "test", "aws:cloudformation:stack-name": "web",
                    "aws:cloudformation:stack-id": stack_id, "aws:cloudformation:logical-id": "Alb"}
    rule_tags = elbv2.describe_tags(ResourceArns=[outputs["RuleArn"]])["TagDescriptions"][0]["Tags"]
    assert {"Key": "aws:cloudformation:logical-id", "Value": "ApiRule"} in rule_tags

    url = listener_url(emulator_url, outputs["ListenerArn"])
    assert _get(f"{url}/index.html")["backend"] == "app"
    assert _get(f"{url}/api/users")["backend"] == "api"
    listener_attributes = {a["Key"]: a["Value"] for a in elbv2.describe_listener_attributes(
        ListenerArn=outputs["ListenerArn"])["Attributes"]}
    assert listener_attributes["routing.http.response.server.enabled"] == "false"

    # moto's own ELBv2 never saw the stack's resources.
    from moto.elbv2.models import elbv2_backends

    moto_elbv2 = elbv2_backends["123456789012"][REGION]
    assert not moto_elbv2.load_balancers and not moto_elbv2.target_groups


def test_update_in_place_and_by_replacement(web_stack, cloudformation, elbv2, emulator_url) -> None:
    parameters, outputs, _, _ = web_stack
    url = listener_url(emulator_url, outputs["ListenerArn"])
    updated = dict(parameters, ApiPath="/v2/*", ApiGroupPort=8080)
    cloudformation.update_stack(StackName="web", TemplateBody=WEB_TEMPLATE, Parameters=_parameters(**updated))
    assert _status(cloudformation, "web") == "UPDATE_COMPLETE"
    after = _outputs(cloudformation, "web")

    # A target group's Port: replacement. The rule that forwards to it follows the new group, and the old
    # one, no longer in use, is deleted in the clean-up.
    assert after["ApiArn"] != outputs["ApiArn"]
    assert elbv2.describe_target_groups(TargetGroupArns=[after["ApiArn"]])["TargetGroups"][0]["Port"] == 8080
    replaced_tags = elbv2.describe_tags(ResourceArns=[after["ApiArn"]])["TagDescriptions"][0]["Tags"]
    assert {"Key": "aws:cloudformation:logical-id", "Value": "Api"} in replaced_tags  # the replacement's too
    with pytest.raises(ClientError) as error:
        elbv2.describe_target_groups(TargetGroupArns=[outputs["ApiArn"]])
    assert error.value.response["Error"]["Code"] == "TargetGroupNotFound"
    # The rule's conditions and actions: no interruption, the same rule.
    assert after["RuleArn"] == outputs["RuleArn"]
    [rule] = elbv2.describe_rules(RuleArns=[after["RuleArn"]])["Rules"]
    assert rule["Actions"][0]["TargetGroupArn"] == after["ApiArn"]
    wait_checked(elbv2, after["ApiArn"])
    assert _get(f"{url}/v2/users")["backend"] == "api"
    assert _get(f"{url}/api/users")["backend"] == "app"
    events = cloudformation.describe_stack_events(StackName="web")["StackEvents"]
    assert any(e["LogicalResourceId"] == "ApiRule" and e["ResourceStatus"] == "UPDATE_COMPLETE" for e in events)


def test_a_failed_replacement_keeps_the_old_resources(web_stack, cloudformation, elbv2, emulator_url) -> None:
    """Scheme needs a new load balancer, whose listener (LoadBalancerArn) must be replaced in turn; but an ALB's
    target group serves one load balancer only, so the new listener is refused, as on AWS. The update fails
    with that message and rolls back ("Stack status codes": UPDATE_ROLLBACK_COMPLETE): the new load balancer is
    deleted, what the update changed in place is changed back, and the old load balancer still serves."""
    parameters, outputs, _, _ = web_stack
    cloudformation.update_stack(StackName="web", TemplateBody=WEB_TEMPLATE,
                                Parameters=_parameters(**dict(parameters, Scheme="internal", ApiPath="/v2/*")))
    assert _status(cloudformation, "web") == "UPDATE_ROLLBACK_COMPLETE"
    # The rule's path, changed in place by the same update, is changed back.
    [rule] = elbv2.describe_rules(RuleArns=[outputs["RuleArn"]])["Rules"]
    assert rule["Conditions"][0]["PathPatternConfig"]["Values"] == ["/api/*"]
    assert [lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]] == [outputs["AlbArn"]]
    resources = cloudformation.describe_stack_resources(StackName="web")["StackResources"]
    assert {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}["Alb"] == outputs["AlbArn"]
    events = cloudformation.describe_stack_events(StackName="web")["StackEvents"]
    assert any(e["LogicalResourceId"] == "Web" and e["ResourceStatus"] == "UPDATE_FAILED"
               and "cannot be associated with more than one load balancer" in e["ResourceStatusReason"]
               for e in events)
    url = listener_url(emulator_url, outputs["ListenerArn"])
    assert _get(f"{url}/api/users")["backend"] == "api"


def test_delete_removes_resources_and_unbinds_listeners(web_stack, cloudformation, elbv2, emulator_url) -> None:
    _, outputs, _, _ = web_stack
    url = listener_url(emulator_url, outputs["ListenerArn"])
    assert _get(f"{url}/")["backend"] == "app"
    cloudformation.delete_stack(StackName="web")
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []
    assert all(entry["ListenerArn"] != outputs["ListenerArn"]
               for entry in requests.get(f"{emulator_url}/_emulator/listeners", timeout=5).json())
    assert _refused(url)


FAILING_TEMPLATE = """
{
  "Resources": {
    "Targets": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": {"Protocol": "HTTP", "Port": 80, "VpcId": "%(vpc)s", "TargetType": "ip"}},
    "Good": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "DependsOn": "Targets",
             "Properties": {"Subnets": %(subnets)s}},
    "Bad": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "DependsOn": "Good",
            "Properties": {"Name": "internal-not-allowed", "Subnets": %(subnets)s}}
  }
}
"""


def test_failing_resource_rolls_the_stack_back(cloudformation, elbv2, subnets, vpc_id) -> None:
    with pytest.raises(ClientError) as refused:  # the message the API gives for the same load balancer
        elbv2.create_load_balancer(Name="internal-not-allowed", Subnets=subnets)
    message = refused.value.response["Error"]["Message"]

    template = FAILING_TEMPLATE % {"vpc": vpc_id, "subnets": json.dumps(subnets)}
    cloudformation.create_stack(StackName="broken", TemplateBody=template)
    assert _status(cloudformation, "broken") == "ROLLBACK_COMPLETE"
    events = cloudformation.describe_stack_events(StackName="broken")["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Bad"]
    assert message in failed[0]["ResourceStatusReason"]
    assert "ElasticLoadBalancingV2" in failed[0]["ResourceStatusReason"]
    deleted = {e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "DELETE_COMPLETE"}
    assert deleted == {"Targets", "Good"}
    # Nothing half-made is left.
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []


def test_on_failure_do_nothing_keeps_what_was_made_and_delete_deletes_the_stack(cloudformation, elbv2, subnets,
                                                                              vpc_id) -> None:
    """CreateStack's OnFailure ("CreateStack", API Reference): DO_NOTHING (or DisableRollback) leaves the stack
    CREATE_FAILED with what it made; DELETE rolls back and deletes the stack."""
    template = FAILING_TEMPLATE % {"vpc": vpc_id, "subnets": json.dumps(subnets)}
    cloudformation.create_stack(StackName="kept", TemplateBody=template, OnFailure="DO_NOTHING")
    assert _status(cloudformation, "kept") == "CREATE_FAILED"
    assert len(elbv2.describe_load_balancers()["LoadBalancers"]) == 1  # "Good", made before "Bad" failed
    cloudformation.delete_stack(StackName="kept")
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []

    cloudformation.create_stack(StackName="disabled", TemplateBody=template, DisableRollback=True)
    assert _status(cloudformation, "disabled") == "CREATE_FAILED"
    cloudformation.delete_stack(StackName="disabled")

    stack_id = cloudformation.create_stack(StackName="gone", TemplateBody=template, OnFailure="DELETE")["StackId"]
    assert cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []


NAMED_TEMPLATE = """
Parameters:
  VpcId: {Type: String}
  Port: {Type: Number}
  Timeout: {Type: Number}
Resources:
  Named:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      Name: named-targets
      Protocol: HTTP
      Port: !Ref Port
      VpcId: !Ref VpcId
      HealthCheckTimeoutSeconds: !Ref Timeout
"""


def test_refused_updates_fail_with_the_reason_and_roll_back(cloudformation, elbv2, vpc_id) -> None:
    cloudformation.create_stack(StackName="named", TemplateBody=NAMED_TEMPLATE, Parameters=_parameters(
        VpcId=vpc_id, Port=80, Timeout=5))
    arn = elbv2.describe_target_groups(Names=["named-targets"])["TargetGroups"][0]["TargetGroupArn"]

    # A replacement that would need the custom name the old target group still holds: CloudFormation refuses it.
    cloudformation.update_stack(StackName="named", TemplateBody=NAMED_TEMPLATE, Parameters=_parameters(
        VpcId=vpc_id, Port=8080, Timeout=5))
    assert _status(cloudformation, "named") == "UPDATE_ROLLBACK_COMPLETE"
    events = cloudformation.describe_stack_events(StackName="named")["StackEvents"]
    assert any(e["ResourceStatus"] == "UPDATE_FAILED" and "custom-named resource requires replacing"
               in e["ResourceStatusReason"] for e in events)
    # A property ModifyTargetGroup refuses: the ELBv2 message, and the resource's UPDATE_FAILED event.
    with pytest.raises(ClientError) as modified:
        elbv2.modify_target_group(TargetGroupArn=arn, HealthCheckTimeoutSeconds=40)
    cloudformation.update_stack(StackName="named", TemplateBody=NAMED_TEMPLATE, Parameters=_parameters(
        VpcId=vpc_id, Port=80, Timeout=40))
    assert _status(cloudformation, "named") == "UPDATE_ROLLBACK_COMPLETE"
    message = modified.value.response["Error"]["Message"]
    events = cloudformation.describe_stack_events(StackName="named")["StackEvents"]
    assert any(e["ResourceStatus"] == "UPDATE_FAILED" and message in e["ResourceStatusReason"] for e in events)
    group = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
    assert (group["Port"], group["HealthCheckTimeoutSeconds"]) == (80, 5)  # neither update changed it


def test_unsupported_property_fails_the_resource(cloudformation, elbv2, subnets) -> None:
    template = {"Resources": {"Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                                      "Properties": {"Subnets": subnets, "Bogus": "x"}}}}
    cloudformation.create_stack(StackName="bogus", TemplateBody=json.dumps(template))
    assert _status(cloudformation, "bogus") == "ROLLBACK_COMPLETE"
    events = cloudformation.describe_stack_events(StackName="bogus")["StackEvents"]
    [failed] = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert "Encountered unsupported property Bogus" in failed["ResourceStatusReason"]
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


def test_change_set_create_rolls_back_too(cloudformation, elbv2, subnets, vpc_id) -> None:
    """ExecuteChangeSet (the path of ``aws cloudformation deploy`` and the CDK CLI) rolls a failed create back."""
    template = FAILING_TEMPLATE % {"vpc": vpc_id, "subnets": json.dumps(subnets)}
    change_set = cloudformation.create_change_set(StackName="broken", ChangeSetName="first", ChangeSetType="CREATE",
                                                  TemplateBody=template)
    cloudformation.execute_change_set(ChangeSetName=change_set["Id"])
    assert _status(cloudformation, "broken") == "ROLLBACK_COMPLETE"
    events = cloudformation.describe_stack_events(StackName="broken")["StackEvents"]
    assert [e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "CREATE_FAILED"] == ["Bad"]
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []


def test_aws_cli_deploy(tmp_path, elbv2, subnets, emulator_url) -> None:
    """``aws cloudformation deploy --endpoint-url`` (a change set, its waiters, then ExecuteChangeSet), as the
    README's CDK flow runs it."""
    template = {"Resources": {"Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                                      "Properties": {"Name": "deployed", "Subnets": subnets}}},
                "Outputs": {"Dns": {"Value": {"Fn::GetAtt": ["Alb", "DNSName"]}}}}
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    env = os.environ | {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    base = ["aws", "--endpoint-url", emulator_url, "cloudformation"]
    subprocess.run([*base, "deploy", "--stack-name", "cli", "--template-file", str(path)],
                   capture_output=True, text=True, env=env, timeout=60, check=True)
    [lb] = elbv2.describe_load_balancers()["LoadBalancers"]
    assert lb["LoadBalancerName"] == "deployed"
    subprocess.run([*base, "delete-stack", "--stack-name", "cli"], capture_output=True, text=True, env=env,
                   timeout=60, check=True)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


def _certificate(acm, ca: trustme.CA, name: str) -> str:
    cert = ca.issue_cert(name, common_name=name)
    return acm.import_certificate(Certificate=cert.cert_chain_pems[0].bytes(), PrivateKey=cert.private_key_pem.bytes(),
                                  CertificateChain=ca.cert_pem.bytes())["CertificateArn"]


TLS_TEMPLATE = """
Parameters:
  Subnets: {Type: CommaDelimitedList}
  Port: {Type: Number}
  DefaultCertificate: {Type: String}
  ExtraCertificate: {Type: String}
Resources:
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Subnets: !Ref Subnets}
  Store:
    Type: AWS::ElasticLoadBalancingV2::TrustStore
    Properties:
      Name: client-cas
      CaCertificatesBundleS3Bucket: %(bucket)s
      CaCertificatesBundleS3Key: cas.pem
  Revoked:
    Type: AWS::ElasticLoadBalancingV2::TrustStoreRevocation
    Properties:
      TrustStoreArn: !Ref Store
      RevocationContents:
        - {RevocationType: CRL, S3Bucket: %(bucket)s, S3Key: revoked.crl}
  Secure:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Protocol: HTTPS
      Port: !Ref Port
      Certificates: [{CertificateArn: !Ref DefaultCertificate}]
      MutualAuthentication: {Mode: verify, TrustStoreArn: !GetAtt Store.TrustStoreArn}
      DefaultActions:
        - Type: fixed-response
          FixedResponseConfig: {StatusCode: "200", ContentType: text/plain, MessageBody: secure}
  Extra:
    Type: AWS::ElasticLoadBalancingV2::ListenerCertificate
    Properties:
      ListenerArn: !Ref Secure
      Certificates: [{CertificateArn: !Ref ExtraCertificate}]
Outputs:
  StoreArn: {Value: !Ref Store}
  StoreStatus: {Value: !GetAtt Store.Status}
  CaCount: {Value: !GetAtt Store.NumberOfCaCertificates}
  RevocationRef: {Value: !Ref Revoked}
  RevocationId: {Value: !GetAtt Revoked.RevocationId}
  ListenerArn: {Value: !Ref Secure}
"""


def test_trust_stores_revocations_and_listener_certificates(cloudformation, elbv2, acm, s3, subnets) -> None:
    ca = trustme.CA()
    s3.put_object(Bucket=BUCKET, Key="cas.pem", Body=pem_bundle(2))
    s3.put_object(Bucket=BUCKET, Key="revoked.crl", Body=crl([11, 12, 13]))
    default, extra = _certificate(acm, ca, "app.example"), _certificate(acm, ca, "other.example")
    cloudformation.create_stack(StackName="tls", TemplateBody=TLS_TEMPLATE % {"bucket": BUCKET}, Parameters=_parameters(
        Subnets=",".join(subnets), Port=free_port(), DefaultCertificate=default, ExtraCertificate=extra))
    assert _status(cloudformation, "tls") == "CREATE_COMPLETE", cloudformation.describe_stack_events(StackName="tls")
    outputs = _outputs(cloudformation, "tls")

    store = elbv2.describe_trust_stores(Names=["client-cas"])["TrustStores"][0]
    assert outputs["StoreArn"] == store["TrustStoreArn"] == outputs["RevocationRef"]
    assert (outputs["StoreStatus"], outputs["CaCount"]) == ("ACTIVE", "2")
    revocations = elbv2.describe_trust_store_revocations(TrustStoreArn=store["TrustStoreArn"])["TrustStoreRevocations"]
    assert [(str(r["RevocationId"]), r["NumberOfRevokedEntries"]) for r in revocations] == [(outputs["RevocationId"], 3)]
    listener = elbv2.describe_listeners(ListenerArns=[outputs["ListenerArn"]])["Listeners"][0]
    assert listener["MutualAuthentication"]["TrustStoreArn"] == store["TrustStoreArn"]
    certificates = elbv2.describe_listener_certificates(ListenerArn=outputs["ListenerArn"])["Certificates"]
    assert {c["CertificateArn"]: c.get("IsDefault", False) for c in certificates} == {default: True, extra: False}

    cloudformation.delete_stack(StackName="tls")
    assert elbv2.describe_trust_stores()["TrustStores"] == []
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
