"""Fuzzes the elbv2 API (run by hand; a short run is part of the test suite):

    python scripts/fuzz_api.py [--cases 10000] [--seed 1]

Each case is one of the model's 51 operations with members drawn from botocore's shapes (valid enums,
ARNs of real resources, or hostile values: unicode, control characters, huge strings, odd numbers),
serialized by botocore's Query serializer, then mutated (a value replaced, a list index made "0", "²" or
huge, junk fields added) and sent over HTTP as POST or GET with varying Content-Type case. Every answer
must be well-formed XML that botocore's parser reads, either a success or an error with an AWS code and
a status below 500 (an InternalFailure is a bug of ours). Every 1,000 cases, and at the end, the server
must be up, its RSS bounded, and every Describe* of the seeded resources parseable by boto3.
Prints a summary with counts and exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import botocore.parsers
import botocore.serialize
import botocore.session
import requests
from benchlib import Emulator
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import OperationModel, Shape

_CREDENTIALS = Credentials("fuzz", "fuzz")
MAX_RSS_MB = 400  # the emulator idles at ~150 MB once moto's EC2 has served calls
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9.]*")
_HOSTILE = [
    "", " ", "\x00", "hi\x01", "\x1f\x7f", "\x0b\x0c", "\ufffe", "\uffff", "\u202e", "\u00b2", "\u0661\u0662", "-1",
    "99999999999999999999", "1e309", "NaN", "true", "<x>&amp;]]>", "'\"", "%", "%zz", "*", "null", "\r\n",
    "\u00e9" * 300, "a" * 100_000, "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/y",
]
_INDICES = ["0", "\u00b2", "-1", "99999999999", "1e3", "", "01", "\u0661"]
_CONTENT_TYPES = ["application/x-www-form-urlencoded; charset=utf-8", "Application/X-WWW-Form-Urlencoded", "APPLICATION/X-WWW-FORM-URLENCODED"]


class Fuzzer:
    def __init__(self, emulator: Emulator, rng: random.Random) -> None:
        self.emulator, self.rng = emulator, rng
        self.model = botocore.session.get_session().get_service_model("elbv2")
        self.serializer = botocore.serialize.create_serializer("query", include_validation=False)
        self.parser = botocore.parsers.create_parser("query")
        self.http = requests.Session()
        self.pool = self._seed()
        self.counts: collections.Counter[str] = collections.Counter()
        self.findings: list[str] = []
        self.max_rss = 0.0

    def _seed(self) -> list[str]:
        """Real resources, so that mutated calls reach past the lookups."""
        elbv2 = self.emulator.elbv2
        lb = elbv2.create_load_balancer(Name="fuzz", Subnets=self.emulator.subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        tg = elbv2.create_target_group(Name="fuzz", Protocol="HTTP", Port=80, VpcId=self.emulator.vpc)["TargetGroups"][0]["TargetGroupArn"]
        forward = [{"Type": "forward", "TargetGroupArn": tg}]
        listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=18480, DefaultActions=forward)["Listeners"][0]["ListenerArn"]
        rule = elbv2.create_rule(ListenerArn=listener, Priority=1, Actions=forward,
                                 Conditions=[{"Field": "path-pattern", "Values": ["/x"]}])["Rules"][0]["RuleArn"]
        return [lb, tg, listener, rule, "fuzz", self.emulator.vpc, *self.emulator.subnets, "127.0.0.1", "ELBSecurityPolicy-2016-08"]

    # -- generation ------------------------------------------------------------------------------------

    def _value(self, shape: Shape, depth: int = 0) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return {name: self._value(member, depth + 1) for name, member in shape.members.items()
                    if depth < 5 and (name in shape.required_members or self.rng.random() < 0.3)}
        if kind == "list":
            return [self._value(shape.member, depth + 1) for _ in range(self.rng.choice([0, 1, 1, 2, 3]) if depth < 5 else 0)]
        if kind == "map":
            return {self._string(shape.key): self._value(shape.value, depth + 1) for _ in range(self.rng.choice([0, 1, 2]))}
        if kind == "string":
            return self._string(shape)
        if kind in ("integer", "long"):
            return self.rng.choice([0, 1, -1, 2, 80, 400, 401, 65535, 65536, 2**31, -2**63, 50001])
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "timestamp":
            return datetime.now(UTC)
        return self.rng.choice([0.0, 1.5, -1.0, 1e308])

    def _string(self, shape: Shape) -> str:
        roll = self.rng.random()
        if shape.enum and roll < 0.6:
            return self.rng.choice(shape.enum)
        if roll < 0.75:
            return self.rng.choice(self.pool)
        return self.rng.choice(_HOSTILE)

    def _form(self, operation: OperationModel) -> dict[str, str]:
        params = self._value(operation.input_shape) if operation.input_shape is not None else {}
        form = {key: str(value) for key, value in self.serializer.serialize_to_request(params, operation)["body"].items()}
        for _ in range(self.rng.choice([0, 1, 1, 2, 3])):
            self._mutate(form)
        return form

    def _mutate(self, form: dict[str, str]) -> None:
        keys = [key for key in form if key not in ("Action", "Version")]
        roll = self.rng.random()
        if keys and roll < 0.4:
            form[self.rng.choice(keys)] = self.rng.choice(_HOSTILE)
        elif keys and roll < 0.6:
            key = self.rng.choice(keys)
            form[re.sub(r"\.\d+(\.|$)", lambda m: f".{self.rng.choice(_INDICES)}{m.group(1)}", key, count=1)] = form.pop(key)
        elif keys and roll < 0.7:
            del form[self.rng.choice(keys)]
        elif roll < 0.8:
            form[self.rng.choice(keys or ["Junk"]) + ".member." + self.rng.choice(_INDICES)] = self.rng.choice(_HOSTILE)
        elif roll < 0.9:
            form["Marker"] = self.rng.choice(_HOSTILE + ["WyJ4Il0", "W10"])
        else:
            form[self.rng.choice(["Action", "Version"])] = self.rng.choice(_HOSTILE + ["2012-06-01", "DescribeLoadBalancers"])

    # -- checking --------------------------------------------------------------------------------------

    def run_case(self, case: int) -> None:
        name = self.rng.choice(self.model.operation_names)
        operation = self.model.operation_model(name)
        form = self._form(operation)
        encoded = urlencode(form)
        # GET only where an SDK could use it: a long query string is an HTTP-level 414 (scripts/fuzz_http.py).
        method = "GET" if len(encoded) < 4096 and self.rng.random() < 0.15 else "POST"
        url = f"{self.emulator.url}/?{encoded}" if method == "GET" else f"{self.emulator.url}/"
        request = AWSRequest(method=method, url=url, data=encoded.encode() if method == "POST" else b"",
                             headers={"Content-Type": self.rng.choice(_CONTENT_TYPES)} if method == "POST" else {})
        SigV4Auth(_CREDENTIALS, "elasticloadbalancing", "us-east-1").add_auth(request)  # as every SDK does
        try:
            prepared = request.prepare()
            answer = self.http.request(method, prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=30)
        except requests.RequestException as error:
            self._finding(case, name, f"no answer: {error}")
            return
        if form.get("Action") in self.model.operation_names:  # the Action may have been mutated into another one
            name = form["Action"]
            operation = self.model.operation_model(name)
        self._check(case, name, operation, form, answer)

    def _check(self, case: int, name: str, operation: OperationModel, form: dict[str, str], answer: requests.Response) -> None:
        wire = {"status_code": answer.status_code, "headers": answer.headers, "body": answer.content}
        try:
            parsed = self.parser.parse(wire, operation.output_shape if answer.status_code < 300 else None)
        except Exception as error:  # botocore's ResponseParserError and what its XML parser raises
            self._finding(case, name, f"unparseable {answer.status_code}: {error}; {answer.content[:200]!r}")
            return
        if not answer.headers.get("Content-Type", "").startswith("text/xml"):
            self._finding(case, name, f"{answer.status_code} answered as {answer.headers.get('Content-Type')}")
        if answer.status_code < 300:
            self.counts["success"] += 1
            return
        code = parsed.get("Error", {}).get("Code", "")
        from_moto = form.get("Version") == "2012-06-01"  # classic ELB: moto's code (or our InvalidAction in front of it)
        self.counts[f"{answer.status_code} {code}{' (classic ELB Version)' if from_moto else ''}"] += 1
        if not _CODE.fullmatch(code or ""):
            self._finding(case, name, f"{answer.status_code} without an AWS error code: {answer.content[:200]!r}")
        elif answer.status_code >= 500 and not from_moto:
            self._finding(case, name, f"{answer.status_code} {code} for {dict(list(form.items())[:8])!r}")

    def _finding(self, case: int, operation: str, what: str) -> None:
        self.counts["FINDING"] += 1
        self.findings.append(f"case {case} {operation}: {what}")

    def check_server(self, case: int) -> None:
        """Up, bounded, and every Describe* of the seeded resources parseable by boto3."""
        if self.emulator.process.poll() is not None:
            self._finding(case, "-", "the server exited")
            return
        rss = self.emulator.rss_mb()
        self.max_rss = max(self.max_rss, rss)
        if rss > MAX_RSS_MB:
            self._finding(case, "-", f"RSS {rss:.0f} MB > {MAX_RSS_MB} MB")
        elbv2 = self.emulator.elbv2
        try:
            lbs = elbv2.describe_load_balancers()["LoadBalancers"]
            tgs = elbv2.describe_target_groups()["TargetGroups"]
            arns = [lb["LoadBalancerArn"] for lb in lbs] + [tg["TargetGroupArn"] for tg in tgs]
            for lb in lbs:
                elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])
                for listener in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
                    arns.append(listener["ListenerArn"])
                    elbv2.describe_listener_attributes(ListenerArn=listener["ListenerArn"])
                    elbv2.describe_listener_certificates(ListenerArn=listener["ListenerArn"])
                    arns += [rule["RuleArn"] for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]]
            for tg in tgs:
                elbv2.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])
                elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
            for start in range(0, len(arns), 20):
                elbv2.describe_tags(ResourceArns=arns[start:start + 20])
            elbv2.describe_trust_stores()
        except Exception as error:
            self._finding(case, "Describe*", f"{type(error).__name__}: {error}")


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--cases", type=int, default=10_000)
    options.add_argument("--seed", type=int, default=1)
    args = options.parse_args()
    emulator = Emulator()
    try:
        fuzzer = Fuzzer(emulator, random.Random(args.seed))
        start_rss = emulator.rss_mb()
        for case in range(1, args.cases + 1):
            fuzzer.run_case(case)
            if case % 1000 == 0:
                fuzzer.check_server(case)
        fuzzer.check_server(args.cases)
    finally:
        emulator.stop()
    print(f"fuzz_api: {args.cases} cases, seed {args.seed}; RSS {start_rss:.0f} MB at start, {fuzzer.max_rss:.0f} MB at most")
    for outcome, count in sorted(fuzzer.counts.items(), key=lambda item: -item[1]):
        print(f"  {count:6d}  {outcome}")
    for finding in fuzzer.findings[:20]:
        print(f"  FINDING {finding}")
    print(f"findings: {len(fuzzer.findings)}")
    sys.exit(1 if fuzzer.findings else 0)


if __name__ == "__main__":
    main()
