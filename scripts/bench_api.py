"""Control-plane benchmark (run by hand): this emulator against moto_server, same boto3 workload.

    python scripts/bench_api.py [--threads 8] [--rounds 15] [--stored 1000]

Each of ``--threads`` threads repeats a mixed round (create LB, TG, listener and rule; describe each;
modify TG health check, LB attributes and the rule; delete everything) ``--rounds`` times against each
server, both started here as subprocesses (``elbv2-emulator serve`` and ``moto_server``). Prints ops/s,
p50 and p99 per server and the ratio; then, on the emulator alone, DescribeLoadBalancers latency with
``--stored`` load balancers stored, and the emulator's idle RSS.
Targets (issue 6): >= 2x moto_server's ops/s; DescribeLoadBalancers p99 < 20 ms with 1,000 LBs; RSS < 120 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import boto3
import requests
from benchlib import free_port, rss_mb
from botocore.config import Config

REGION = "us-east-1"
LISTENER_PORT = 18080  # unprivileged; each emulated LB has its own loopback address, so no clashes
Timings = list[float]




@contextmanager
def _server(command: list[str], port: int, ready_path: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}{ready_path}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(url, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _clients(url: str) -> tuple[object, object]:
    config = Config(retries={"max_attempts": 1}, max_pool_connections=32)
    kwargs = dict(endpoint_url=url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client("elbv2", config=config, **kwargs), boto3.client("ec2", config=config, **kwargs)


def _network(ec2: object) -> tuple[str, list[str]]:
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    by_zone: dict[str, str] = {}
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
        by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    return vpc, [by_zone[z] for z in sorted(by_zone)][:2]


class Recorder:
    """Latency of every call, thread-safe by construction (each thread appends to its own list)."""

    def __init__(self) -> None:
        self.samples: list[Timings] = []
        self._lock = threading.Lock()

    def thread_samples(self) -> Timings:
        mine: Timings = []
        with self._lock:
            self.samples.append(mine)
        return mine

    def all(self) -> Timings:
        return [s for thread in self.samples for s in thread]


def _timed(out: Timings, call: Callable[..., dict], **kwargs: object) -> dict:
    start = time.perf_counter()
    answer = call(**kwargs)
    out.append(time.perf_counter() - start)
    return answer


def _round(elbv2: object, vpc: str, subnets: list[str], tag: str, out: Timings) -> None:
    """One mixed round: 16 calls across load balancers, target groups, listeners and rules."""
    lb = _timed(out, elbv2.create_load_balancer, Name=f"lb-{tag}", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tg = _timed(out, elbv2.create_target_group, Name=f"tg-{tag}", Protocol="HTTP", Port=8080, VpcId=vpc,
                TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    forward = [{"Type": "forward", "TargetGroupArn": tg}]
    listener = _timed(out, elbv2.create_listener, LoadBalancerArn=lb, Protocol="HTTP", Port=LISTENER_PORT,
                      DefaultActions=forward)["Listeners"][0]["ListenerArn"]
    condition = [{"Field": "path-pattern", "Values": ["/api/*"]}]
    rule = _timed(out, elbv2.create_rule, ListenerArn=listener, Priority=10, Conditions=condition,
                  Actions=forward)["Rules"][0]["RuleArn"]
    _timed(out, elbv2.describe_load_balancers, LoadBalancerArns=[lb])
    _timed(out, elbv2.describe_target_groups, TargetGroupArns=[tg])
    _timed(out, elbv2.describe_listeners, LoadBalancerArn=lb)
    _timed(out, elbv2.describe_rules, ListenerArn=listener)
    _timed(out, elbv2.modify_target_group, TargetGroupArn=tg, HealthCheckPath="/health", HealthCheckIntervalSeconds=10)
    _timed(out, elbv2.modify_load_balancer_attributes, LoadBalancerArn=lb,
           Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "120"}])
    _timed(out, elbv2.modify_rule, RuleArn=rule, Conditions=[{"Field": "path-pattern", "Values": ["/v2/*"]}])
    _timed(out, elbv2.describe_target_group_attributes, TargetGroupArn=tg)
    _timed(out, elbv2.delete_rule, RuleArn=rule)
    _timed(out, elbv2.delete_listener, ListenerArn=listener)
    _timed(out, elbv2.delete_load_balancer, LoadBalancerArn=lb)
    _timed(out, elbv2.delete_target_group, TargetGroupArn=tg)


def _mixed(url: str, threads: int, rounds: int) -> tuple[float, Timings]:
    """(ops/s, latencies) of ``threads`` threads each running ``rounds`` mixed rounds."""
    elbv2, ec2 = _clients(url)
    vpc, subnets = _network(ec2)
    recorder = Recorder()

    def worker(index: int) -> None:
        out = recorder.thread_samples()
        for n in range(rounds):
            _round(elbv2, vpc, subnets, f"{index}-{n}", out)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    elapsed = time.perf_counter() - start
    samples = recorder.all()
    return len(samples) / elapsed, samples


def _percentile(samples: Timings, fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def _summary(name: str, ops: float, samples: Timings) -> str:
    return f"{name:<14} {ops:8.1f} ops/s   p50 {_percentile(samples, 0.5):7.2f} ms   p99 {_percentile(samples, 0.99):7.2f} ms   ({len(samples)} calls)"


def _describe_with_stored(url: str, stored: int, threads: int, calls: int) -> dict[str, Timings]:
    elbv2, ec2 = _clients(url)
    _vpc, subnets = _network(ec2)
    with ThreadPoolExecutor(threads) as pool:
        arns = list(pool.map(
            lambda i: elbv2.create_load_balancer(Name=f"stored-{i}", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"],
            range(stored),
        ))
    by_arn: Timings = []
    by_name: Timings = []
    first_page: Timings = []
    for i in range(calls):
        _timed(by_arn, elbv2.describe_load_balancers, LoadBalancerArns=[arns[(i * 7919) % stored]])
        _timed(by_name, elbv2.describe_load_balancers, Names=[f"stored-{(i * 104729) % stored}"])
        if i % 10 == 0:
            _timed(first_page, elbv2.describe_load_balancers)  # default PageSize: 400 LBs in one answer
    return {"by ARN": by_arn, "by Name": by_name, "all (page of 400)": first_page}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--stored", type=int, default=1000)
    args = parser.parse_args()

    emulator_port, moto_port = free_port(), free_port()
    emulator_cmd = [sys.executable, "-m", "emulator.cli", "serve", "--port", str(emulator_port)]
    moto_cmd = ["moto_server", "-p", str(moto_port)]
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

    # --stored exceeds AWS's default of 50 load balancers: raise the quota, as Service Quotas would.
    quotas = {"ELBV2_EMULATOR_QUOTAS": f"application-load-balancers={args.stored + args.threads * args.rounds}"}
    with _server(emulator_cmd, emulator_port, "/_emulator/health", os.environ | quotas) as emulator:
        time.sleep(1.0)
        idle_rss = rss_mb(emulator.pid)
        emu_ops, emu_samples = _mixed(f"http://127.0.0.1:{emulator_port}", args.threads, args.rounds)
        stored = _describe_with_stored(f"http://127.0.0.1:{emulator_port}", args.stored, args.threads, 500)
        time.sleep(1.0)
        loaded_rss = rss_mb(emulator.pid)
    with _server(moto_cmd, moto_port, "/moto-api/") as _moto:
        moto_ops, moto_samples = _mixed(f"http://127.0.0.1:{moto_port}", args.threads, args.rounds)

    print(f"mixed workload: {args.threads} threads x {args.rounds} rounds x 16 calls")
    print(_summary("emulator", emu_ops, emu_samples))
    print(_summary("moto_server", moto_ops, moto_samples))
    print(f"ratio          {emu_ops / moto_ops:8.2f}x moto_server's ops/s (target >= 2x)")
    print(f"DescribeLoadBalancers with {args.stored} LBs stored (target p99 < 20 ms):")
    for name, samples in stored.items():
        print(f"  {name:<18} p50 {_percentile(samples, 0.5):7.2f} ms   p99 {_percentile(samples, 0.99):7.2f} ms   ({len(samples)} calls)")
    print(f"emulator RSS: idle after start {idle_rss:.1f} MB; idle with {args.stored} LBs {loaded_rss:.1f} MB (target < 120 MB)")


if __name__ == "__main__":
    main()
