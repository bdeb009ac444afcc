"""ALB ``lambda`` target groups and Lambda ``Invoke``, run by the local runtime (README "Lambda targets").

AWS: "Use Lambda functions as targets of an Application Load Balancer"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html) for the event
and the response; "Invoke" in the AWS Lambda API reference for the direct call.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import httpx
import pytest
import requests
import trustme

from tests.alb_support import alb, forward, listener, wait_for
from tests.conftest import REGION
from tests.h2_support import HOST, client_context, https_listener
from tests.lambda_support import alb_for, create_function, http, lambda_role, lambda_target_group, make_zip

# Echoes the event and the context it saw as JSON, with headers set from the request's ``respond`` parameter.
ECHO = '''
import json
import os

def handler(event, context):
    seen = {"event": event, "context": {
        "function_name": context.function_name, "memory_limit_in_mb": context.memory_limit_in_mb,
        "request_id_length": len(context.aws_request_id),
        "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 3000}}
    return {"statusCode": 201, "statusDescription": "201 Created", "isBase64Encoded": False,
            "headers": {"Content-Type": "application/json", "X-Function": "echo"},
            "body": json.dumps(seen)}
'''
MULTI = '''
import json
import os

def handler(event, context):
    return {"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Content-Type": ["text/plain"]},
            "body": json.dumps(event)}
'''
BINARY = '''
import base64

def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(bytes(range(256))).decode(), "isBase64Encoded": True}
'''


@pytest.fixture
def lam(emulator_url: str):
    return boto3.client("lambda", endpoint_url=emulator_url, region_name=REGION)


@pytest.fixture
def role(emulator_url: str) -> str:
    return lambda_role(boto3.client("iam", endpoint_url=emulator_url, region_name=REGION))


def _lb_headers(headers: dict) -> dict:
    """The headers the load balancer adds (the trace id is random: checked for its form, then dropped)."""
    trace = headers.pop("x-amzn-trace-id")
    assert trace.startswith("Root=1-") and len(trace) == len("Root=1-") + 8 + 1 + 24
    return headers


def _logged(emulator_url: str, group_name: str) -> list[dict]:
    """The group's recent requests as the dashboard shows them (with the access log's error_reason)."""
    rows = requests.get(f"{emulator_url}/_emulator/ui/api/snapshot", timeout=5).json()["requests"]
    return [row for row in rows if row["targetGroup"] == group_name]


def test_get_event_context_and_response(elbv2, lam, role, subnets, emulator_url):
    function = create_function(lam, role, "echo", {"app.py": ECHO}, MemorySize=256)
    tg = lambda_target_group(elbv2, "echo-tg", function, lam)
    addr = alb_for(elbv2, subnets, emulator_url, tg)
    status, headers, body = http(addr, b"GET /items/a%20b?x=1&y=a%20b&x=2&flag HTTP/1.1\r\nHost: shop.test\r\n"
                                       b"X-Custom: one\r\nX-Custom: two\r\nUser-Agent: t/1\r\n")
    assert status == b"HTTP/1.1 201 Created"
    assert headers == [("Content-Type", "application/json"), ("X-Function", "echo"),
                       ("Content-Length", str(len(body))), ("Connection", "close")]
    seen = json.loads(body)
    event = seen.pop("event")
    assert seen == {"context": {"function_name": "echo", "memory_limit_in_mb": 256, "request_id_length": 36,
                                "remaining_ok": True}}
    assert _lb_headers(event["headers"]) == {
        "host": f"shop.test:{addr[1]}",  # (as an instance target receives it: the listener's port appended)
        "x-custom": "two", "user-agent": "t/1",  # (the last value of a repeated header)
        "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http", "x-forwarded-port": str(addr[1]),
    }
    assert event == {
        "requestContext": {"elb": {"targetGroupArn": tg}}, "httpMethod": "GET", "path": "/items/a%20b",
        # Not decoded ("the load balancer does not decode them"); a repeated parameter gives its last value.
        "queryStringParameters": {"x": "2", "y": "a%20b", "flag": ""},
        "headers": event["headers"], "body": "", "isBase64Encoded": False,
    }


def test_post_json_and_binary_bodies(elbv2, lam, role, subnets, emulator_url):
    function = create_function(lam, role, "echo", {"app.py": ECHO})
    tg = lambda_target_group(elbv2, "echo-tg", function, lam)
    addr = alb_for(elbv2, subnets, emulator_url, tg)
    payload = b'{"name": "caf\xc3\xa9"}'
    _, _, body = http(addr, b"POST /orders HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                            b"Content-Length: %d\r\n" % len(payload), payload)
    event = json.loads(body)["event"]
    assert _lb_headers(event["headers"]) == {
        "host": f"h:{addr[1]}", "content-type": "application/json", "content-length": str(len(payload)),
        "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http", "x-forwarded-port": str(addr[1])}
    assert event == {"requestContext": {"elb": {"targetGroupArn": tg}}, "httpMethod": "POST", "path": "/orders",
                     "queryStringParameters": {}, "headers": event["headers"], "body": '{"name": "café"}',
                     "isBase64Encoded": False}
    with socket.create_connection(addr, timeout=10) as sock:  # Expect: 100-continue: the body after the 100
        sock.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["event"]["body"] == "hello"
    binary = bytes(range(256))
    _, _, body = http(addr, b"PUT /blob HTTP/1.1\r\nHost: h\r\nContent-Type: image/png\r\n"
                            b"Content-Length: 256\r\n", binary)
    event = json.loads(body)["event"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == binary


def test_multi_value_headers_and_query_strings(elbv2, lam, role, subnets, emulator_url):
    function = create_function(lam, role, "multi", {"app.py": MULTI})
    tg = lambda_target_group(elbv2, "multi-tg", function, lam,
                             attributes={"lambda.multi_value_headers.enabled": "true"})
    addr = alb_for(elbv2, subnets, emulator_url, tg)
    status, headers, body = http(addr, b"GET /m?k=1&k=2&e=%3D HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\n")
    assert status == b"HTTP/1.1 200 OK"
    assert [v for n, v in headers if n == "Set-Cookie"] == ["a=1", "b=2"]
    event = json.loads(body)
    assert "headers" not in event and "queryStringParameters" not in event
    assert event["multiValueQueryStringParameters"] == {"k": ["1", "2"], "e": ["%3D"]}
    mv = event["multiValueHeaders"]
    assert len(mv.pop("x-amzn-trace-id")) == 1
    assert mv == {"host": [f"h:{addr[1]}"], "x-a": ["1", "2"], "x-forwarded-for": ["127.0.0.1"],
                  "x-forwarded-proto": ["http"], "x-forwarded-port": [str(addr[1])]}


def test_binary_response_is_decoded(elbv2, lam, role, subnets, emulator_url):
    function = create_function(lam, role, "binary", {"app.py": BINARY})
    addr = alb_for(elbv2, subnets, emulator_url, lambda_target_group(elbv2, "binary-tg", function, lam))
    status, headers, body = http(addr, b"GET / HTTP/1.1\r\nHost: h\r\n")
    assert status == b"HTTP/1.1 200 OK" and body == bytes(range(256))
    assert ("Content-Type", "application/octet-stream") in headers and ("Content-Length", "256") in headers
    status, _, body = http(addr, b"HEAD / HTTP/1.1\r\nHost: h\r\n")
    assert (status, body) == (b"HTTP/1.1 200 OK", b"")


@pytest.mark.parametrize(("name", "source", "timeout", "reason"), [
    ("raises", "def handler(event, context):\n    raise RuntimeError('boom')\n", 3, "LambdaUnhandled"),
    # Timeout 1 s (Lambda's least): the handler is stopped at 1 s and its worker replaced.
    ("times-out", "import time\ndef handler(event, context):\n    time.sleep(30)\n", 1, "LambdaUnhandled"),
    ("invalid", "def handler(event, context):\n    return {'body': 'no status code'}\n", 3,
     "LambdaInvalidResponse"),
    ("too-large", "def handler(event, context):\n    return {'statusCode': 200, 'body': 'x' * (1024 * 1024 + 1)}\n",
     3, "LambdaResponseTooLarge"),
], ids=["raises", "times-out", "invalid-response", "response-too-large"])
def test_failing_functions_answer_502(elbv2, lam, role, subnets, emulator_url, name, source, timeout, reason):
    function = create_function(lam, role, name, {"app.py": source}, Timeout=timeout)
    addr = alb_for(elbv2, subnets, emulator_url, lambda_target_group(elbv2, f"{name}-tg", function, lam))
    status, headers, _ = http(addr, b"GET / HTTP/1.1\r\nHost: h\r\n")
    assert status == b"HTTP/1.1 502 Bad Gateway" and ("Server", "awselb/2.0") in headers
    row = wait_for(lambda: _logged(emulator_url, f"{name}-tg"))[0]
    assert (row["status"], row["targetStatus"], row["error"]) == (502, None, reason)


def test_request_body_over_1_mb_is_refused(elbv2, lam, role, subnets, emulator_url):
    function = create_function(lam, role, "echo", {"app.py": ECHO})
    addr = alb_for(elbv2, subnets, emulator_url, lambda_target_group(elbv2, "echo-tg", function, lam))
    size = 1024 * 1024 + 1
    status, _, _ = http(addr, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
                              b"Content-Length: %d\r\n" % size, b"a" * size)
    assert status == b"HTTP/1.1 413 Request Entity Too Large"


def test_direct_invoke_uses_the_same_runtime(lam, role):
    create_function(lam, role, "direct", {"app.py": "def handler(event, context):\n"
                                                    "    return {'got': event, 'name': context.function_name}\n"})
    result = lam.invoke(FunctionName="direct", Payload=json.dumps({"a": [1, 2]}))
    assert (result["StatusCode"], result["ExecutedVersion"]) == (200, "$LATEST") and "FunctionError" not in result
    assert json.loads(result["Payload"].read()) == {"got": {"a": [1, 2]}, "name": "direct"}
    create_function(lam, role, "raises", {"app.py": "def handler(event, context):\n    raise KeyError('k')\n"})
    failed = lam.invoke(FunctionName="raises", Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("KeyError", "'k'") and error["stackTrace"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="missing", Payload=b"{}")
    assert lam.invoke(FunctionName="direct", InvocationType="DryRun")["StatusCode"] == 204
    assert lam.invoke(FunctionName="direct", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="missing", InvocationType="DryRun")


def test_environment_and_updated_code(lam, role):
    """Lambda's runtime environment: the function's variables and Lambda's own, the task root first on
    sys.path and the working directory; updated code runs in new workers."""
    source = ("import os, sys\ndef handler(event, context):\n"
              "    root = os.environ['LAMBDA_TASK_ROOT']\n"
              "    return [os.environ['GREETING'], os.environ['AWS_LAMBDA_FUNCTION_NAME'], os.environ['_HANDLER'],\n"
              "            sys.path[0] == root == os.getcwd() and os.path.exists(os.path.join(root, 'app.py')), {}]\n")
    create_function(lam, role, "env", {"app.py": source.replace("{}", "1")},
                    Environment={"Variables": {"GREETING": "hello"}})
    assert json.loads(lam.invoke(FunctionName="env")["Payload"].read()) == ["hello", "env", "app.handler", True, 1]
    lam.update_function_code(FunctionName="env", ZipFile=make_zip({"app.py": source.replace("{}", "2")}))
    assert json.loads(lam.invoke(FunctionName="env")["Payload"].read())[4] == 2  # new code: new workers


NODE_ECHO = '''
exports.handler = async (event, context) => ({
  statusCode: 200, headers: {"content-type": "application/json"},
  body: JSON.stringify({path: event.path, query: event.queryStringParameters, name: context.functionName,
                        memory: context.memoryLimitInMB}),
});
'''


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_nodejs_function_behind_the_alb(elbv2, lam, role, subnets, emulator_url):
    function = create_function(lam, role, "node-echo", {"index.js": NODE_ECHO}, handler="index.handler",
                               runtime="nodejs20.x")
    addr = alb_for(elbv2, subnets, emulator_url, lambda_target_group(elbv2, "node-tg", function, lam))
    status, _, body = http(addr, b"GET /n?q=1 HTTP/1.1\r\nHost: h\r\n")
    assert status == b"HTTP/1.1 200 OK"
    assert json.loads(body) == {"path": "/n", "query": {"q": "1"}, "name": "node-echo", "memory": "128"}
    direct = lam.invoke(FunctionName="node-echo", Payload=b'{"path": "/direct"}')
    assert json.loads(json.loads(direct["Payload"].read())["body"])["path"] == "/direct"


HEALTH = '''
import json
import os

def handler(event, context):
    expected = {"requestContext": {"elb": {"targetGroupArn": event["requestContext"]["elb"]["targetGroupArn"]}},
                "httpMethod": "GET", "path": "/health", "queryStringParameters": {},
                "headers": {"user-agent": "ELB-HealthChecker/2.0"}, "body": "", "isBase64Encoded": False}
    return {"statusCode": 200 if event == expected else 500, "body": json.dumps(event)}
'''


def _health(elbv2, tg: str) -> dict:
    return elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"][0]["TargetHealth"]


def test_health_checks_invoke_the_function_when_enabled(elbv2, lam, role, subnets, emulator_url):
    """AWS, "Enable health checks" (Lambda targets): off by default; when on, the function receives the
    health check event (user-agent ELB-HealthChecker/2.0) and its statusCode is matched."""
    function = create_function(lam, role, "health", {"app.py": HEALTH})
    disabled = lambda_target_group(elbv2, "unchecked-tg", function, lam)
    checked = lambda_target_group(elbv2, "checked-tg", function, lam, HealthCheckEnabled=True,
                                  HealthCheckPath="/health")
    strict = lambda_target_group(elbv2, "strict-tg", function, lam, HealthCheckEnabled=True,
                                 HealthCheckPath="/other")  # the function answers 500 for any other path
    alb_for(elbv2, subnets, emulator_url, disabled)
    lb = elbv2.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
    listener(elbv2, lb, forward(checked))
    listener(elbv2, lb, forward(strict))
    assert _health(elbv2, disabled) == {"State": "unavailable", "Reason": "Target.HealthCheckDisabled",
                                        "Description": "Health checks are disabled"}
    wait_for(lambda: _health(elbv2, checked)["State"] == "healthy")
    wait_for(lambda: _health(elbv2, strict)["State"] == "unhealthy")
    assert _health(elbv2, strict)["Reason"] == "Target.ResponseCodeMismatch"


def test_https_and_http2_requests(elbv2, acm, lam, role, subnets, emulator_url):
    ca = trustme.CA()
    function = create_function(lam, role, "echo", {"app.py": ECHO})
    lb = alb(elbv2, subnets)
    _, addr = https_listener(elbv2, acm, emulator_url, ca, lb, forward(lambda_target_group(elbv2, "h2-tg", function, lam)))
    with httpx.Client(http2=True, verify=client_context(ca), base_url=f"https://{addr[0]}:{addr[1]}") as client:
        response = client.post("/h2?a=1", content=b"data", headers={"content-type": "text/plain", "host": HOST})
    assert (response.http_version, response.status_code) == ("HTTP/2", 201)
    event = response.json()["event"]
    assert (event["httpMethod"], event["path"], event["queryStringParameters"], event["body"]) == (
        "POST", "/h2", {"a": "1"}, "data")
    assert (event["headers"]["x-forwarded-proto"], event["headers"]["host"]) == ("https", f"{HOST}:{addr[1]}")


def test_workers_stay_warm_and_serve_one_request_at_a_time(lam, role):
    """Lambda's concurrency model: an execution environment serves one invocation at a time and is reused;
    concurrent invocations get environments of their own."""
    create_function(lam, role, "pid", {"app.py": "import os, time\ndef handler(event, context):\n"
                                                 "    time.sleep(event['hold'])\n    return os.getpid()\n"})
    first = json.loads(lam.invoke(FunctionName="pid", Payload=b'{"hold": 0}')["Payload"].read())
    assert json.loads(lam.invoke(FunctionName="pid", Payload=b'{"hold": 0}')["Payload"].read()) == first
    with ThreadPoolExecutor(3) as pool:
        pids = list(pool.map(lambda _: json.loads(lam.invoke(FunctionName="pid", Payload=b'{"hold": 0.3}')
                                                  ["Payload"].read()), range(3)))
    assert len(set(pids)) == 3 and first in pids


def test_functions_restored_from_the_state_dir_still_run(tmp_path, monkeypatch):
    """--state-dir: a function created before a kill -9 is invoked after the restart (moto restores it, code
    included); invoking it changes nothing stored."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from benchlib import free_port
    from kill9_loop import Server

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    port = free_port()
    server = Server(tmp_path, port)
    try:
        lam = server.client("lambda")
        create_function(lam, lambda_role(server.client("iam")), "kept",
                        {"app.py": "def handler(event, context):\n    return {'kept': event}\n"})
        assert json.loads(lam.invoke(FunctionName="kept", Payload=b"1")["Payload"].read()) == {"kept": 1}
    finally:
        server.kill()
    server = Server(tmp_path, port)
    try:
        lam = server.client("lambda")
        assert json.loads(lam.invoke(FunctionName="kept", Payload=b"2")["Payload"].read()) == {"kept": 2}
    finally:
        server.kill()


def test_handlers_sdk_calls_reach_the_emulator(lam, role):
    """A handler's boto3 gets AWS_ENDPOINT_URL and placeholder credentials: its calls come to this emulator."""
    create_function(lam, role, "sdk", {"app.py": "import boto3\ndef handler(event, context):\n"
                                                 "    me = boto3.client('lambda').get_function(FunctionName=context.function_name)\n"
                                                 "    return me['Configuration']['FunctionArn']\n"})
    result = lam.invoke(FunctionName="sdk")
    assert "FunctionError" not in result
    assert json.loads(result["Payload"].read()) == lam.get_function(FunctionName="sdk")["Configuration"]["FunctionArn"]


def test_runtimes_not_run_locally_fail_like_a_broken_function(lam, role):
    create_function(lam, role, "java", {"App.class": ""}, handler="example.App::handle", runtime="java21")
    result = lam.invoke(FunctionName="java")
    assert result["FunctionError"] == "Unhandled"
    assert json.loads(result["Payload"].read())["errorType"] == "Runtime.Unavailable"


def test_a_registered_function_that_does_not_exist_is_502(elbv2, subnets, emulator_url):
    missing = "arn:aws:lambda:us-east-1:123456789012:function:nope"
    addr = alb_for(elbv2, subnets, emulator_url, lambda_target_group(elbv2, "nope-tg", missing))
    status, _, _ = http(addr, b"GET / HTTP/1.1\r\nHost: h\r\n")
    assert status == b"HTTP/1.1 502 Bad Gateway"
    assert wait_for(lambda: _logged(emulator_url, "nope-tg"))[0]["error"] == "LambdaResourceNotFound"


def test_nodejs_without_node_fails_like_a_broken_function(tmp_path, monkeypatch):
    """Where ``node`` is not on PATH, a Node.js function fails as a broken function does on AWS, saying why."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from benchlib import free_port, start_emulator

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    port = free_port()
    process = start_emulator(port, env={**os.environ, "PATH": str(Path(sys.executable).parent)})
    try:
        url = f"http://127.0.0.1:{port}"
        lam = boto3.client("lambda", endpoint_url=url, region_name=REGION)
        role = lambda_role(boto3.client("iam", endpoint_url=url, region_name=REGION))
        create_function(lam, role, "node", {"index.js": NODE_ECHO}, handler="index.handler", runtime="nodejs20.x")
        result = lam.invoke(FunctionName="node")
        assert result["FunctionError"] == "Unhandled"
        error = json.loads(result["Payload"].read())
        assert error["errorType"] == "Runtime.Unavailable" and "node" in error["errorMessage"]
    finally:
        process.kill()
        process.wait(10)
