"""The AWS CDK, end to end: a CDK app (tests/js/cdk_app.mjs, aws-cdk-lib from npm) is synthesised offline, its
template deployed with CloudFormation CreateStack on the endpoint (no bootstrap), real HTTP goes through its ALB
to a backend this test starts, an update changes the rule's path, and the stack is deleted."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import boto3
import pytest
import requests

from tests.alb_support import free_port, listener_url, wait_checked
from tests.backends import HttpEcho
from tests.conftest import REGION

JS_DIR = Path(__file__).parent / "js"


def _synth(outdir: Path, listener_port: int, backend_port: int, rule_path: str) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the CDK app needs Node.js 18+)")
    if not (JS_DIR / "node_modules" / "aws-cdk-lib").is_dir():
        pytest.skip("tests/js/node_modules is missing: run `npm ci --prefix tests/js` (.ci/run does)")
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "LISTENER_PORT": str(listener_port),
           "BACKEND_PORT": str(backend_port), "RULE_PATH": rule_path}
    done = subprocess.run([node, "cdk_app.mjs"], cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    template = (outdir / "WebStack.template.json").read_text()
    assert "BootstrapVersion" not in template  # nothing that needs `cdk bootstrap`
    return template


def _outputs(cloudformation, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"].endswith("_COMPLETE") and "ROLLBACK" not in described["StackStatus"], (
        cloudformation.describe_stack_events(StackName=stack)["StackEvents"])
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def test_cdk_app_deploys_routes_updates_and_deletes(emulator_url: str, elbv2, ec2, tmp_path: Path) -> None:
    cloudformation = boto3.client("cloudformation", endpoint_url=emulator_url, region_name=REGION)
    port = free_port()
    with HttpEcho("cdk-backend") as backend:
        template = _synth(tmp_path / "v1", port, backend.port, "/api/*")
        cloudformation.create_stack(StackName="cdk-web", TemplateBody=template)
        outputs = _outputs(cloudformation, "cdk-web")

        lb = elbv2.describe_load_balancers()["LoadBalancers"]
        assert [b["DNSName"] for b in lb] == [outputs["AlbDnsName"]]
        assert lb[0]["Scheme"] == "internet-facing"
        # Its subnets and security group are the ones the stack's EC2 resources made.
        vpc = next(v for v in ec2.describe_vpcs()["Vpcs"] if v["VpcId"] == lb[0]["VpcId"])
        assert vpc["CidrBlock"] == "10.0.0.0/16"
        group = ec2.describe_security_groups(GroupIds=lb[0]["SecurityGroups"])["SecurityGroups"][0]
        assert group["Description"] == "web ALB"
        wait_checked(elbv2, outputs["TargetGroupArn"])

        url = listener_url(emulator_url, outputs["ListenerArn"])
        answer = requests.get(f"{url}/api/users", timeout=5)
        assert answer.status_code == 200 and answer.json()["backend"] == "cdk-backend"
        assert answer.json()["path"] == "/api/users"
        missed = requests.get(f"{url}/v2/users", timeout=5)
        assert (missed.status_code, missed.text) == (404, "no route")

        # The update: the rule now matches /v2/*, the same listener keeps its port.
        cloudformation.update_stack(StackName="cdk-web", TemplateBody=_synth(tmp_path / "v2", port, backend.port, "/v2/*"))
        assert _outputs(cloudformation, "cdk-web")["ListenerArn"] == outputs["ListenerArn"]
        assert requests.get(f"{url}/v2/users", timeout=5).json()["path"] == "/v2/users"
        assert requests.get(f"{url}/api/users", timeout=5).status_code == 404

        cloudformation.delete_stack(StackName="cdk-web")
        assert elbv2.describe_load_balancers()["LoadBalancers"] == []
        assert elbv2.describe_target_groups()["TargetGroups"] == []
        assert lb[0]["VpcId"] not in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}  # the VPC's parts went too
        host, listener_port = url.split("://")[1].rsplit(":", 1)
        with pytest.raises(OSError):
            socket.create_connection((host, int(listener_port)), timeout=2).close()
    resources = json.loads(template)["Resources"]
    assert {"AWS::EC2::VPC", "AWS::EC2::SecurityGroup", "AWS::ElasticLoadBalancingV2::ListenerRule"} <= {
        resource["Type"] for resource in resources.values()}
