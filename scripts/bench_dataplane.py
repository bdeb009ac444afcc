"""ALB data-plane benchmark (run by hand): HTTP through the emulator's ALB vs direct, nginx and haproxy.

Paths: direct to a uvloop backend, through an ALB listener (three rules that do not match, so every request
walks the rule table, then the default forward with X-Forwarded-* work), nginx and haproxy as reverse proxies
and, with ``--baseline DIR``, the same ALB in a second emulator run from another checkout (e.g. main before a
refactoring), started with the same flags; ``--baseline-env NAME=VALUE`` (repeatable) runs the baseline with
those environment variables, from this checkout unless ``--baseline`` names another: e.g.
``--baseline-env ELBV2_EMULATOR_OBSERVABILITY=off`` measures what recording traffic costs (metrics and the
dashboard's sample; with ``--access-logs`` the ALBs write access logs too, so every request's record is kept).
Every case runs ``--rounds`` times; within a round each path runs once, one after the other (the two emulators
swap places every other round), and the tables show medians.
Cases:
  keepalive  wrk -t1 -c50: rps, p50, p99
  newconn    wrk -t1 -c50 with "Connection: close" (a new client connection per request)
  latency    p99 at half the ALB's keep-alive rate (paced Python client): ALB minus direct = added p99
  memory     emulator RSS with 100 idle listeners; RSS per idle keep-alive client connection (one round)
Targets (2 cores, side by side): keepalive >= 55% of nginx, newconn >= 60% of nginx, added p99 < 2 ms,
100 listeners < 80 MB, < 64 KB per idle connection.

The reference proxies are configured like the emulator (details in ``benchlib``'s docstring):
  nginx: worker_processes 1 (the emulator's data plane is one event loop).
  nginx: upstream keepalive 1024, keepalive_requests 1000000, keepalive_timeout 3600s: upstream connections
    are never recycled (nginx's default recycles each one after 1000 requests; the emulator never does).
  nginx: client keepalive_requests 1000000, keepalive_timeout 3600s: the same on the client side.
  nginx: proxy_buffering off, proxy_buffer_size 256k: responses stream through, read 256 KB at a time, as ours.
  haproxy: nbthread 1; tune.bufsize 262144 (256 KB buffers, as ours).
  haproxy: http-reuse always, pool-purge-delay 3600s: idle server connections shared and kept.
  haproxy: timeout http-keep-alive 3600s: client connections kept like nginx's (and the emulator's).

    python scripts/bench_dataplane.py [--seconds 5] [--rounds 5] [--cases keepalive,newconn,latency,memory]
                                      [--baseline DIR] [--baseline-env NAME=VALUE ...] [--access-logs]
"""

from __future__ import annotations

import argparse
import resource
import socket
import sys
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402


def _alb(emulator: benchlib.Emulator, backend_port: int, access_logs: bool = False) -> tuple[str, int]:
    """The benchmark's ALB; ``access_logs``: it writes access logs into a bucket of the emulator's S3."""
    elbv2 = emulator.elbv2
    port = benchlib.free_port()
    lb = elbv2.create_load_balancer(Name="bench", Subnets=emulator.subnets, SecurityGroups=[
        emulator.security_group("bench", port)])["LoadBalancers"][0]["LoadBalancerArn"]
    if access_logs:
        boto3.client("s3", endpoint_url=emulator.url, region_name="us-east-1").create_bucket(Bucket="bench-logs")
        elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"}, {"Key": "access_logs.s3.bucket", "Value": "bench-logs"}])
    tg = elbv2.create_target_group(Name="bench", Protocol="HTTP", Port=backend_port, VpcId=emulator.vpc,
                                   TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": backend_port}])
    listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]
    fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}]
    for priority, condition in enumerate([
        {"Field": "path-pattern", "Values": ["/api/*"]},
        {"Field": "host-header", "Values": ["*.internal.example.com"]},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Canary", "Values": ["yes"]}},
    ], start=1):
        elbv2.create_rule(ListenerArn=listener["ListenerArn"], Priority=priority, Conditions=[condition], Actions=fixed)
    host, port = emulator.bound(listener["ListenerArn"])
    while elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"][0]["TargetHealth"]["State"] != "healthy":
        pass
    return host, port


def _idle_listeners(emulator: benchlib.Emulator, count: int = 100) -> float:
    """RSS (MB) with ``count`` more listeners (50 per ALB, the AWS limit) that carry no traffic."""
    elbv2 = emulator.elbv2
    for n in range(count // 50):
        lb = elbv2.create_load_balancer(Name=f"idle{n}", Subnets=emulator.subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        for _ in range(50):
            elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=benchlib.free_port(), DefaultActions=[
                {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    return emulator.rss_mb()


def _idle_connections(emulator: benchlib.Emulator, address: tuple[str, int], count: int = 5000) -> float:
    """KB of emulator RSS per idle keep-alive client connection (each has served one request)."""
    before = emulator.rss_mb()
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(address)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        sock.recv(65536)
        sockets.append(sock)
    after = emulator.rss_mb()
    for sock in sockets:
        sock.close()
    return (after - before) * 1024 / count


WRK_COLUMNS = [("rps", "rps", "{:.0f}"), ("p50", "p50 ms", "{:.2f}"), ("p99", "p99 ms", "{:.2f}")]
TARGETS = {"keepalive": 0.55, "newconn": 0.60}


def _memory(emulator: benchlib.Emulator, alb: tuple[str, int], fresh: float) -> dict[str, float]:
    per_connection = _idle_connections(emulator, alb)
    before = emulator.rss_mb()
    with_listeners = _idle_listeners(emulator)
    return {"connection": per_connection, "listeners": with_listeners, "added": with_listeners - before,
            "fresh": fresh}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="per case, path and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", default="keepalive,newconn,latency,memory")
    parser.add_argument("--baseline", metavar="DIR", help="another checkout of this repository: its emulator "
                        "runs next to this tree's, every case against both")
    parser.add_argument("--baseline-env", metavar="NAME=VALUE", action="append", default=[],
                        help="an environment variable for the baseline emulator (repeatable); without "
                        "--baseline, the baseline runs from this checkout")
    parser.add_argument("--access-logs", action="store_true",
                        help="the ALBs write access logs (to the emulator's S3): every request's record is kept")
    args = parser.parse_args()
    baseline_env = dict(item.partition("=")[::2] for item in args.baseline_env)
    cases = args.cases.split(",")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    backend, backend_port = benchlib.http_backend()
    emulators = benchlib.emulators(benchlib.checkout(args.baseline), baseline_env)
    directory = benchlib.temp_dir()
    proxies: dict = {}
    fresh = {name: emulator.rss_mb() for name, emulator in emulators.items()}
    try:
        proxies["nginx"] = benchlib.nginx_proxy(backend_port, directory)
        proxies["haproxy"] = benchlib.haproxy_proxy(backend_port, directory)
        albs = {name: _alb(emulator, backend_port, args.access_logs) for name, emulator in emulators.items()}
        paths = dict(albs)
        paths.update({name: ("127.0.0.1", p[1]) for name, p in proxies.items() if p is not None})
        paths["direct"] = ("127.0.0.1", backend_port)
        print(f"{args.rounds} rounds x {args.seconds:g} s per path; paths: {', '.join(paths)}"
              + (f"; baseline = {emulators['baseline'].checkout}" if "baseline" in emulators else "")
              + (f" with {' '.join(args.baseline_env)}" if args.baseline_env else ""), flush=True)
        middle: dict[str, dict[str, dict[str, float]]] = {}
        for case in ("keepalive", "newconn"):
            if case not in cases:
                continue

            def run(name: str, close: bool = case == "newconn") -> dict[str, float] | None:
                host, port = paths[name]
                return benchlib.wrk(f"http://{host}:{port}/", args.seconds, close=close)

            samples = benchlib.interleaved(list(paths), args.rounds, run)
            middle[case] = benchlib.medians(samples)
            benchlib.table(f"{case}: wrk -t1 -c50{' Connection: close' if case == 'newconn' else ''}", samples,
                           WRK_COLUMNS, TARGETS[case])
        if "latency" in cases:
            rate = middle.get("keepalive", {}).get("emulator", {"rps": 4000.0})["rps"] / 2
            names = [*albs, "direct"]
            samples = benchlib.interleaved(names, args.rounds,
                                           lambda name: benchlib.paced_latency(*paths[name], rate, args.seconds))
            benchlib.table(f"latency: paced at {rate:.0f} rps, 20 connections (lower is better)", samples,
                           [("p99", "p99 ms", "{:.2f}"), ("p50", "p50 ms", "{:.2f}"), ("rps", "rps", "{:.0f}")])
            latency = benchlib.medians(samples)
            print("  added p99 (target < 2 ms): " + "  ".join(
                f"{name} {latency[name]['p99'] - latency['direct']['p99']:.2f} ms" for name in albs) + "\n")
        if "memory" in cases:
            memory = {name: _memory(emulator, albs[name], fresh[name]) for name, emulator in emulators.items()}
            print("memory" + "".join(f"{name:>12}" for name in memory))
            for key, label in (("connection", "KB per idle keep-alive connection (target < 64)"),
                               ("listeners", "MB RSS with 100 idle listeners +1 busy (target < 80)"),
                               ("added", "MB added by the 100 listeners"),
                               ("fresh", "MB fresh process (Flask, moto, botocore models, no listener)")):
                print("      " + "".join(f"{m[key]:12.1f}" for m in memory.values()) + f"  {label}")
    finally:
        for emulator in emulators.values():
            emulator.stop()
        for proxy in proxies.values():
            if proxy is not None:
                proxy[0].terminate()
                proxy[0].wait(10)
        backend.terminate()


if __name__ == "__main__":
    main()
