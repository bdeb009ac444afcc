"""Start-up and footprint as users see them (run by hand).

- ``elbv2-emulator serve``: time until /_emulator/health answers, then until the first EC2 call answers
  (moto's EC2 finishes importing in the background), and the idle RSS;
- the pytest plugin's in-process emulator (``emulator.testing``'s fixture does the same): time until it answers;
- after a typical test session (``--session``): RSS with 20 ALBs, 100 targets and a few thousand requests
  (target < 150 MB).

    python scripts/bench_startup.py [--runs 5] [--session]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import boto3
import requests
from benchlib import Emulator, free_port, http_backend, rss_mb

TARGET_SECONDS = 1.0
TARGET_SESSION_MB = 150
IN_PROCESS = """
import time
began = time.monotonic()
from emulator.server import EmulatorServer
server = EmulatorServer(port=0).start()
import requests
while not requests.get(server.url + "/_emulator/health", timeout=1).ok:
    pass
print(time.monotonic() - began)
"""




def measure_once() -> tuple[float, float, float]:
    """(seconds to health, seconds to the first answered DescribeVpcs, RSS MB then) of a fresh process."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if requests.get(f"{url}/_emulator/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.005)
        ready = time.monotonic() - started
        ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="x")
        ec2.describe_vpcs()
        return ready, time.monotonic() - started, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait()


def in_process_once() -> float:
    """Seconds from importing the emulator to its answering, in a fresh interpreter (the plugin's fixture)."""
    out = subprocess.run([sys.executable, "-c", IN_PROCESS], capture_output=True, text=True, check=True, timeout=60)
    return float(out.stdout.strip().splitlines()[-1])


def session_rss() -> float:
    """RSS (MB) after a typical test session: 20 ALBs with a listener each, 100 targets, 3,000 requests."""
    backends = [http_backend() for _ in range(5)]
    emulator = Emulator("--security-groups", "off")
    try:
        elbv2 = emulator.elbv2
        addresses = []
        for n in range(20):
            lb = elbv2.create_load_balancer(Name=f"s{n}", Subnets=emulator.subnets)["LoadBalancers"][0]
            tg = elbv2.create_target_group(Name=f"s{n}", Protocol="HTTP", Port=80, VpcId=emulator.vpc,
                                           TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
            elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": port} for _, port in backends])
            listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=free_port(),
                                             DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
            addresses.append(emulator.bound(listener["Listeners"][0]["ListenerArn"]))
        with requests.Session() as session:
            for i in range(3000):
                host, port = addresses[i % len(addresses)]
                session.get(f"http://{host}:{port}/", timeout=5)
        return emulator.rss_mb()
    finally:
        emulator.stop()
        for process, _ in backends:
            process.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--session", action="store_true", help="also measure RSS after a typical test session")
    args = parser.parse_args()
    os.environ.setdefault("ELBV2_EMULATOR_SECURITY_GROUPS", "off")
    runs = [measure_once() for _ in range(args.runs)]
    ready, first_ec2 = [r[0] for r in runs], [r[1] for r in runs]
    print(f"serve, ready after: median {statistics.median(ready)*1000:.0f} ms, max {max(ready)*1000:.0f} ms "
          f"(target < {TARGET_SECONDS*1000:.0f} ms); first EC2 call answered after: median "
          f"{statistics.median(first_ec2)*1000:.0f} ms; RSS then {statistics.median(r[2] for r in runs):.0f} MB")
    fixture = [in_process_once() for _ in range(args.runs)]
    print(f"in-process (the pytest fixture), ready after: median {statistics.median(fixture)*1000:.0f} ms")
    if args.session:
        print(f"RSS after 20 ALBs, 100 targets, 3,000 requests: {session_rss():.0f} MB (target < {TARGET_SESSION_MB} MB)")


if __name__ == "__main__":
    main()
