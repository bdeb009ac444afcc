"""What a mutating call costs with ``--state-dir`` (moto's backends pickled and fsynced before the answer) and without.

    python scripts/bench_persistence.py [--rounds 5] [--calls 20]

Two emulators run side by side, one with a state directory and one without. Each round times ``--calls``
of each mutating call on both, interleaved (so load on the machine hits both alike): EC2 CreateTags on a
security group, EC2 CreateSecurityGroup, ACM AddTagsToCertificate, and ELBv2 AddTags (ELBv2's own
SQLite store, for comparison). Printed: the median per call over the rounds, and the ratio on/off.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import boto3
from benchlib import free_port, start_emulator


class _Emulator:
    def __init__(self, state_dir: str | None) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        extra = ["--state-dir", state_dir] if state_dir else []
        self.process = start_emulator(port, *extra)
        self.ec2, self.acm, self.elbv2 = (boto3.client(s, endpoint_url=self.url, region_name="us-east-1")
                                          for s in ("ec2", "acm", "elbv2"))
        vpc = self.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        self.group = self.ec2.create_security_group(GroupName="bench", Description="bench", VpcId=vpc)["GroupId"]
        self.certificate = self.acm.request_certificate(DomainName="bench.example.com")["CertificateArn"]
        self.target_group = self.elbv2.create_target_group(Name="bench", Protocol="HTTP", Port=80, VpcId=vpc)[
            "TargetGroups"][0]["TargetGroupArn"]
        self.vpc = vpc

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _calls(emulator: _Emulator) -> dict[str, Callable[[int], Any]]:
    return {
        "ec2 CreateTags": lambda n: emulator.ec2.create_tags(Resources=[emulator.group], Tags=[{"Key": f"k{n}", "Value": "v"}]),
        "ec2 CreateSecurityGroup": lambda n: emulator.ec2.create_security_group(
            GroupName=f"g{n}", Description="bench", VpcId=emulator.vpc),
        "acm AddTagsToCertificate": lambda n: emulator.acm.add_tags_to_certificate(
            CertificateArn=emulator.certificate, Tags=[{"Key": f"k{n}", "Value": "v"}]),
        "elbv2 AddTags": lambda n: emulator.elbv2.add_tags(
            ResourceArns=[emulator.target_group], Tags=[{"Key": f"k{n % 40}", "Value": str(n)}]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with tempfile.TemporaryDirectory(prefix="bench-state-") as state_dir:
        emulators = {"off": _Emulator(None), "on": _Emulator(state_dir)}
        try:
            calls = {mode: _calls(e) for mode, e in emulators.items()}
            times: dict[tuple[str, str], list[float]] = {}
            counter = itertools.count()
            for _ in range(args.rounds):
                for name in calls["off"]:
                    for mode in ("off", "on"):
                        started = time.perf_counter()
                        for _ in range(args.calls):
                            calls[mode][name](next(counter))
                        times.setdefault((name, mode), []).append((time.perf_counter() - started) / args.calls)
        finally:
            for emulator in emulators.values():
                emulator.stop()
    print(f"{'call':28} {'off (ms)':>9} {'on (ms)':>9} {'on/off':>7}   median of {args.rounds} rounds x {args.calls} calls")
    for name in calls["off"]:
        off, on = (statistics.median(times[(name, mode)]) * 1000 for mode in ("off", "on"))
        print(f"{name:28} {off:9.2f} {on:9.2f} {on / off:7.2f}")


if __name__ == "__main__":
    main()
