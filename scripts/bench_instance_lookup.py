"""What following instance targets costs the health checker (run by hand).

Before each check of an instance target, the checker asks EC2 (moto, in-process) whether the instance runs
and where its traffic goes (``local_aws.instance_address``). moto finds an instance, and its tags, by
scanning them all; ``local_aws`` indexes them. With ``--instances`` instances in moto, prints the cost of
one lookup through moto's own calls and through ``instance_address``, and the ratio.
Target: 1,000 instance targets checked every second add < 1% of one core.

    python scripts/bench_instance_lookup.py [--instances 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from emulator import local_aws  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"


def per_call(lookup, ids: list[str]) -> float:
    """Microseconds per lookup, best of three rounds over every id."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for instance_id in ids:
            lookup(instance_id)
        best = min(best, time.perf_counter() - start)
    return best / len(ids) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=1000)
    args = parser.parse_args()
    with mock_aws():
        from moto.ec2.models import ec2_backends

        ec2 = boto3.client("ec2", region_name=REGION)
        ids: list[str] = []
        while len(ids) < args.instances:
            count = min(100, args.instances - len(ids))
            ids += [i["InstanceId"] for i in ec2.run_instances(ImageId="ami-12c6146b", MinCount=count, MaxCount=count)["Instances"]]
        backend = ec2_backends[ACCOUNT][REGION]

        def through_moto(instance_id: str) -> object:
            instance = backend.get_instance(instance_id)
            return instance.state, instance.get_tags()

        moto_us = per_call(through_moto, ids)
        ours_us = per_call(lambda i: local_aws.instance_address(ACCOUNT, REGION, i), ids)
    print(f"{args.instances} instances: moto get_instance+get_tags {moto_us:.1f} us, instance_address {ours_us:.2f} us "
          f"({moto_us / ours_us:.0f}x faster); {args.instances} targets checked every second: "
          f"{ours_us * args.instances / 1e4:.2f}% of one core")


if __name__ == "__main__":
    main()
