"""Lambda target benchmark (run by hand): warm-invocation latency of a trivial Python handler, through an ALB
listener (a keep-alive client, one request at a time: the request, the event, the worker round trip, the
response) and by direct ``lambda invoke`` (boto3 over the API port).

Target (2 cores): ALB p50 < 2 ms for the trivial handler.

    python scripts/bench_lambda.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import statistics
import sys
import time
import zipfile
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    return buffer.getvalue()


def _setup(emulator: benchlib.Emulator) -> tuple[object, tuple[str, int]]:
    iam = boto3.client("iam", endpoint_url=emulator.url, region_name="us-east-1")
    lam = boto3.client("lambda", endpoint_url=emulator.url, region_name="us-east-1")
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    function = lam.create_function(FunctionName="bench", Runtime="python3.12", Role=role, Handler="app.handler",
                                   Code={"ZipFile": _zip()})["FunctionArn"]
    elbv2 = emulator.elbv2
    port = benchlib.free_port()
    lb = elbv2.create_load_balancer(Name="bench", Subnets=emulator.subnets, SecurityGroups=[
        emulator.security_group("bench", port)])["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(Name="bench", TargetType="lambda")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": function}])
    listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]
    return lam, emulator.bound(listener["ListenerArn"])


def _measure(call: object, seconds: float) -> dict[str, float]:
    for _ in range(50):  # warm: the worker started, its code imported
        call()  # type: ignore[operator]
    samples: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"n": len(samples), "p50": statistics.median(samples), "p99": samples[int(len(samples) * 0.99) - 1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    emulator = benchlib.Emulator()
    try:
        lam, (host, port) = _setup(emulator)
        connection = http.client.HTTPConnection(host, port, timeout=10)

        def through_alb() -> None:
            connection.request("GET", "/")
            response = connection.getresponse()
            if response.read() != b"ok":
                raise AssertionError(f"unexpected answer {response.status}")

        def direct() -> None:
            lam.invoke(FunctionName="bench", Payload=b"{}")["Payload"].read()  # type: ignore[attr-defined]

        for name, call in (("ALB -> Lambda", through_alb), ("lambda invoke", direct)):
            result = _measure(call, args.seconds)
            print(f"{name:15} n={result['n']:6d}  p50={result['p50']:.3f} ms  p99={result['p99']:.3f} ms")
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
