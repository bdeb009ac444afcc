"""ALB data-plane benchmark (run by hand): HTTP through the emulator's ALB vs direct, nginx and haproxy.

Paths: direct to a uvloop backend, through an ALB listener (three rules that do not match, so every request
walks the rule table, then the default forward with X-Forwarded-* work), nginx (one worker, upstream
keep-alive) and haproxy (one thread) as reverse proxies. Cases:
  keepalive  wrk -t1 -c50: rps, p50, p99
  newconn    wrk -t1 -c50 with "Connection: close" (a new client connection per request)
  latency    p99 at half the ALB's keep-alive rate (paced Python client): ALB minus direct = added p99
  memory     emulator RSS with 100 idle listeners; RSS per idle keep-alive client connection
Targets (2 cores, side by side): keepalive >= 55% of nginx, newconn >= 60% of nginx, added p99 < 2 ms,
100 listeners < 80 MB, < 64 KB per idle connection.

    python scripts/bench_dataplane.py [--seconds 5] [--cases keepalive,newconn,latency,memory]
"""

from __future__ import annotations

import argparse
import resource
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402


def _alb(emulator: benchlib.Emulator, backend_port: int) -> tuple[str, int]:
    elbv2 = emulator.elbv2
    lb = elbv2.create_load_balancer(Name="bench", Subnets=emulator.subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(Name="bench", Protocol="HTTP", Port=backend_port, VpcId=emulator.vpc,
                                   TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": backend_port}])
    listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=benchlib.free_port(),
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


def _row(name: str, result: dict[str, float] | None, reference: dict[str, float] | None) -> str:
    if result is None:
        return f"  {name:<9} (not installed)"
    ratio = f"{100 * result['rps'] / reference['rps']:5.0f}% of nginx" if reference else ""
    bad = f"  ({result['failed']:.0f} non-2xx, {result['errors']:.0f} socket errors)" if result["failed"] or result["errors"] else ""
    return f"  {name:<9} {result['rps']:9.0f} rps  p50 {result['p50']:6.2f} ms  p99 {result['p99']:6.2f} ms  {ratio}{bad}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--cases", default="keepalive,newconn,latency,memory")
    args = parser.parse_args()
    cases = args.cases.split(",")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    backend, backend_port = benchlib.http_backend()
    emulator = benchlib.Emulator()
    directory = benchlib.temp_dir()
    proxies: dict = {}
    baseline = emulator.rss_mb()
    try:
        proxies["nginx"] = benchlib.nginx_proxy(backend_port, directory)
        proxies["haproxy"] = benchlib.haproxy_proxy(backend_port, directory)
        alb = _alb(emulator, backend_port)
        paths = {"direct": ("127.0.0.1", backend_port), "alb": alb}
        paths.update({name: ("127.0.0.1", p[1]) for name, p in proxies.items() if p is not None})
        results: dict[str, dict[str, dict[str, float] | None]] = {}
        for case in ("keepalive", "newconn"):
            if case not in cases:
                continue
            print(f"{case}:")
            results[case] = {}
            for name in ("direct", "nginx", "haproxy", "alb"):
                if name in paths:
                    host, port = paths[name]
                    results[case][name] = benchlib.wrk(f"http://{host}:{port}/", args.seconds, close=case == "newconn")
            for name, result in results[case].items():
                print(_row(name, result, results[case].get("nginx")))
        if "latency" in cases:
            rate = (results.get("keepalive", {}).get("alb") or {"rps": 4000.0})["rps"] / 2
            direct = benchlib.paced_latency(*paths["direct"], rate, args.seconds)
            through = benchlib.paced_latency(*alb, rate, args.seconds)
            print(f"latency at {rate:.0f} rps: direct p99 {direct['p99']:.2f} ms, ALB p99 {through['p99']:.2f} ms, "
                  f"added p99 {through['p99'] - direct['p99']:.2f} ms (target < 2 ms)")
        if "memory" in cases:
            per_connection = _idle_connections(emulator, alb)
            print(f"idle keep-alive connection: {per_connection:.1f} KB each (target < 64 KB)")
            before = emulator.rss_mb()
            with_listeners = _idle_listeners(emulator)
            print(f"RSS with 100 idle listeners (+1 busy): {with_listeners:.1f} MB (target < 80 MB); the 100 "
                  f"listeners added {with_listeners - before:.1f} MB; the fresh emulator process (Flask, moto, botocore "
                  f"models, no listener) was {baseline:.1f} MB")
    finally:
        emulator.stop()
        for proxy in proxies.values():
            if proxy is not None:
                proxy[0].terminate()
        backend.terminate()


if __name__ == "__main__":
    main()
