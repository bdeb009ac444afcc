"""Helpers for the Lambda target tests: function zips built in the test, functions created through boto3's
``lambda`` client, and Lambda target groups behind an ALB listener."""

from __future__ import annotations

import io
import json
import socket
import zipfile
from typing import Any

from tests.alb_support import address, alb, forward, listener, listener_url

_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def lambda_role(iam: Any) -> str:
    """An execution role Lambda may assume (moto's create-function checks it, as AWS does)."""
    return iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument=_TRUST)["Role"]["Arn"]


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def create_function(lam: Any, role: str, name: str, files: dict[str, str], handler: str = "app.handler",
                    runtime: str = "python3.12", **extra: Any) -> str:
    return lam.create_function(FunctionName=name, Runtime=runtime, Role=role, Handler=handler,
                               Code={"ZipFile": make_zip(files)}, **extra)["FunctionArn"]


def lambda_target_group(elbv2: Any, name: str, function_arn: str, lam: Any | None = None,
                        attributes: dict[str, str] | None = None, **extra: Any) -> str:
    arn = elbv2.create_target_group(Name=name, TargetType="lambda", **extra)["TargetGroups"][0]["TargetGroupArn"]
    if lam is not None:  # as on AWS: Elastic Load Balancing may invoke the function
        lam.add_permission(FunctionName=function_arn, StatementId=f"elb-{name}", Action="lambda:InvokeFunction",
                           Principal="elasticloadbalancing.amazonaws.com", SourceArn=arn)
    if attributes:
        elbv2.modify_target_group_attributes(
            TargetGroupArn=arn, Attributes=[{"Key": k, "Value": v} for k, v in attributes.items()])
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": function_arn}])
    return arn


def alb_for(elbv2: Any, subnets: list[str], emulator_url: str, tg_arn: str, name: str = "lambda-alb") -> tuple[str, int]:
    lb = alb(elbv2, subnets, name)
    arn = listener(elbv2, lb, forward(tg_arn))
    return address(listener_url(emulator_url, arn))


def http(addr: tuple[str, int], head: bytes, body: bytes = b"") -> tuple[bytes, list[tuple[str, str]], bytes]:
    """One request (``head`` without its blank line; the connection closes after it): (status line, headers,
    body), read until the load balancer closes the connection."""
    with socket.create_connection(addr, timeout=10) as sock:
        sock.sendall(head + b"Connection: close\r\n\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    top, _, content = raw.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = [(n, v.strip()) for n, _, v in (line.partition(":") for line in lines[1:])]
    return lines[0].encode("latin-1"), headers, content
