"""Shared pieces of the data-plane benchmarks (``bench_dataplane.py`` for the ALB, ``bench_l4.py`` for the NLB):
a fast HTTP backend, the emulator as a user runs it (from this checkout or another one, for before/after
comparisons), nginx/haproxy reverse proxies, wrk, a Python load generator with a fixed request rate (for
latency at a given load), and the interleaved rounds and median tables both benchmarks print.

Fairness of the HTTP reference proxies (``nginx_proxy``, ``haproxy_proxy``), one line per setting:
  nginx worker_processes 1 / haproxy nbthread 1: the emulator's data plane is one event loop.
  upstream keepalive 1024 (idle cache larger than any client count here): no upstream connection is dropped.
  upstream keepalive_requests 1000000, keepalive_timeout 3600s: nginx's defaults (1000 requests, 60 s) would
    close and reopen every upstream connection each 1000 requests; the emulator's pool never recycles.
  client keepalive_requests 1000000, keepalive_timeout 3600s: the same on the client side (the emulator
    keeps a client connection for its 3600 s client_keep_alive default).
  nginx proxy_buffering off, proxy_buffer_size 256k: the emulator streams responses through without
    buffering them and reads 256 KB at a time (uvloop's read size).
  haproxy tune.bufsize 262144: the same 256 KB buffers; http-reuse always with pool-purge-delay 3600s:
    idle server connections are shared and not purged every 5 s (the default).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import requests
import uvloop

ROOT = Path(__file__).resolve().parent.parent
HTTP_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{host}:{port} did not come up")


# -- backend ------------------------------------------------------------------------------------------


class _Answer(asyncio.Protocol):
    """Answers every complete request head with a tiny 200 (bodyless requests only; enough for wrk)."""

    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""

    def data_received(self, data):
        self.buffer += data
        count = self.buffer.count(b"\r\n\r\n")
        if count:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4:]
            self.transport.write(HTTP_ANSWER * count)
            if b"onnection: close" in data:
                self.transport.close()


def _serve_http(port: int) -> None:
    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(_Answer, "127.0.0.1", port, backlog=4096)
        await server.serve_forever()

    uvloop.run(serve())


def http_backend() -> tuple[multiprocessing.Process, int]:
    port = free_port()
    process = multiprocessing.Process(target=_serve_http, args=(port,), daemon=True)
    process.start()
    wait_port("127.0.0.1", port)
    return process, port


# -- the emulator -------------------------------------------------------------------------------------


def checkout(path: str | None) -> Path | None:
    """A ``--baseline`` argument: another checkout of this repository (its ``emulator`` package is run)."""
    if path is None:
        return None
    resolved = Path(path).resolve()
    if not (resolved / "emulator" / "cli.py").is_file():
        raise SystemExit(f"--baseline {path}: not a checkout of this repository (no emulator/cli.py)")
    return resolved


def start_emulator(port: int, *options: str, env: dict[str, str] | None = None,
                   checkout: Path = ROOT) -> subprocess.Popen:
    """``python -m emulator.cli serve --port PORT OPTIONS...`` run from ``checkout`` (its directory first on
    ``PYTHONPATH``, so its code, not an installed copy, is what runs), returned once its API answers health."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(checkout), env.get("PYTHONPATH", "")) if p)
    process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", "--port", str(port), *options],
                               cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1).ok:
                return process
        except requests.RequestException:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"the emulator from {checkout} did not start") from None
            time.sleep(0.02)


class Emulator:
    """``python -m emulator.cli serve`` (from ``checkout``) in its own process, driven through boto3."""

    def __init__(self, *options: str, checkout: Path = ROOT, env: dict[str, str] | None = None) -> None:
        """``env``: variables added to this process's environment for the emulator's."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.checkout = checkout
        self.process = start_emulator(port, *options, checkout=checkout, env={**os.environ, **(env or {})})
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        self.elbv2 = boto3.client("elbv2", endpoint_url=self.url, region_name="us-east-1")
        self.ec2 = ec2 = boto3.client("ec2", endpoint_url=self.url, region_name="us-east-1")
        self.vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        by_zone: dict[str, str] = {}
        for subnet in ec2.describe_subnets()["Subnets"]:
            by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
        self.subnets = list(by_zone.values())[:2]

    def security_group(self, name: str, port: int) -> str:
        """A security group open to local clients (127.0.0.0/8) on ``port``, as real infrastructure code makes
        one for an ALB (the emulator enforces security groups; its checks are part of what is measured)."""
        group = self.ec2.create_security_group(GroupName=name, Description=name, VpcId=self.vpc)["GroupId"]
        self.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "127.0.0.0/8"}]}])
        return group

    def bound(self, listener_arn: str) -> tuple[str, int]:
        for entry in requests.get(f"{self.url}/_emulator/listeners", timeout=5).json():
            if entry["ListenerArn"] == listener_arn:
                host, _, port = entry["Address"].rpartition(":")
                return host, int(port)
        raise RuntimeError(f"listener {listener_arn} not bound")

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def emulators(baseline: Path | None, baseline_env: dict[str, str] | None = None) -> dict[str, Emulator]:
    """``emulator`` from this tree and, with ``--baseline``, ``baseline`` from that checkout: same flags. With
    ``baseline_env`` (``--baseline-env``), ``baseline`` runs with those variables added to its environment,
    from this tree unless ``--baseline`` names another (e.g. ELBV2_EMULATOR_OBSERVABILITY=off: the cost of
    observability, side by side)."""
    started = {"emulator": Emulator()}
    if baseline is not None or baseline_env:
        try:
            started["baseline"] = Emulator(checkout=baseline or ROOT, env=baseline_env)
        except Exception:
            started["emulator"].stop()
            raise
    return started


# -- reference proxies ---------------------------------------------------------------------------------


def nginx_proxy(backend_port: int, directory: str) -> tuple[subprocess.Popen, int] | None:
    """nginx as a one-worker HTTP reverse proxy with upstream keep-alive and X-Forwarded-* headers (settings:
    the module docstring)."""
    if shutil.which("nginx") is None:
        return None
    port = free_port()
    conf = Path(directory, "nginx.conf")
    conf.write_text(f"""daemon off; worker_processes 1; pid {directory}/nginx.pid; error_log /dev/null crit;
events {{ worker_connections 20000; }}
http {{ access_log off;
  upstream backend {{ server 127.0.0.1:{backend_port};
    keepalive 1024; keepalive_requests 1000000; keepalive_timeout 3600s; }}
  server {{ listen 127.0.0.1:{port} backlog=4096; keepalive_requests 1000000; keepalive_timeout 3600s;
    location / {{ proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off; proxy_buffer_size 256k; proxy_buffers 4 256k; proxy_busy_buffers_size 256k;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Port $server_port; proxy_set_header Host $host; }} }} }}
""")
    process = subprocess.Popen(["nginx", "-c", str(conf), "-p", directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _up("nginx", process, port, conf)


def haproxy_proxy(backend_port: int, directory: str) -> tuple[subprocess.Popen, int] | None:
    """haproxy ``mode http`` with one thread, forwardfor and connection reuse (settings: the module docstring)."""
    if shutil.which("haproxy") is None:
        return None
    port = free_port()
    conf = Path(directory, "haproxy.cfg")
    conf.write_text(f"""global
  nbthread 1
  maxconn 4000
  tune.bufsize 262144
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option forwardfor
  http-reuse always
  timeout http-keep-alive 3600s
frontend web
  bind 127.0.0.1:{port}
  default_backend app
backend app
  server s1 127.0.0.1:{backend_port} pool-purge-delay 3600s
""")
    process = subprocess.Popen(["haproxy", "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _up("haproxy", process, port, conf)


def _up(name: str, process: subprocess.Popen, port: int, conf: Path) -> tuple[subprocess.Popen, int] | None:
    """The proxy once it accepts; None (left out of the run, said so) if it did not come up."""
    try:
        wait_port("127.0.0.1", port)
    except RuntimeError:
        process.kill()
        process.wait(10)
        print(f"{name} did not start with {conf} (check it with `{name} -c` / `-t`): left out", file=sys.stderr)
        return None
    return process, port


def temp_dir() -> str:
    return tempfile.mkdtemp(prefix="bench-")


# -- load ---------------------------------------------------------------------------------------------


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, seconds: float, connections: int = 50, close: bool = False) -> dict[str, float] | None:
    """Closed-loop load with wrk (one thread): rps, p50 and p99 in ms. ``close``: a new connection per request."""
    if shutil.which("wrk") is None:
        return None
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url]
    if close:
        command[1:1] = ["-H", "Connection: close"]
    out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["failed"] = float(failed.group(1)) if failed else 0.0
    result["errors"] = float(sum(int(n) for n in errors.groups())) if errors else 0.0
    for label, key in (("50%", "p50"), ("99%", "p99")):
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        result[key] = _ms(*match.groups()) if match else float("nan")
    return result


async def _paced(host: str, port: int, rate: float, seconds: float, connections: int) -> list[float]:
    """Open-loop-ish load: ``connections`` keep-alive clients, each sending at ``rate / connections`` per second."""
    latencies: list[float] = []
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    interval = connections / rate
    deadline = time.perf_counter() + seconds

    async def client(offset: float) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        next_at = time.perf_counter() + offset
        while next_at < deadline:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - start) * 1000)
            next_at += interval
        writer.close()

    await asyncio.gather(*(client(i * interval / connections) for i in range(connections)))
    return latencies


def paced_latency(host: str, port: int, rate: float, seconds: float, connections: int = 20) -> dict[str, float]:
    """p50/p99 (ms) at a fixed request rate, measured by a Python client (its own overhead is in both sides
    of a comparison, so compare differences, not absolute values)."""
    latencies = sorted(uvloop.run(_paced(host, port, rate, seconds, connections)))
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {"rps": len(latencies) / seconds, "p50": pick(0.5), "p99": pick(0.99)}


# -- rounds and tables -----------------------------------------------------------------------------

EMULATORS = ("emulator", "baseline")


def interleaved(names: list[str], rounds: int, measure: Callable[[str], dict[str, float] | None],
                ) -> dict[str, list[dict[str, float]]]:
    """Every path once per round, round after round, so that a noisy moment hits all of them alike. The two
    emulators swap places every other round, so neither always runs right after the other."""
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for number in range(rounds):
        order = list(names)
        if number % 2 and all(name in order for name in EMULATORS):
            first, second = order.index("emulator"), order.index("baseline")
            order[first], order[second] = order[second], order[first]
        for name in order:
            result = measure(name)
            if result is not None:
                samples[name].append(result)
    return {name: values for name, values in samples.items() if values}


def medians(samples: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {name: {key: statistics.median(v[key] for v in values) for key in values[0]}
            for name, values in samples.items()}


def ratios(middle: dict[str, dict[str, float]], key: str, target: float | None = None,
           samples: dict[str, list[dict[str, float]]] | None = None) -> list[str]:
    """Lines of ratios of ``key``'s medians: each emulator to nginx, haproxy and direct; emulator/baseline,
    also as the median of the rounds' own ratios (the two emulators run back to back within a round, so a
    round's ratio is less exposed to a machine whose speed drifts between rounds)."""
    lines = []
    for mine in (name for name in EMULATORS if name in middle):
        parts = []
        for other in ("nginx", "haproxy", "direct"):
            if other in middle and middle[other][key]:
                ratio = middle[mine][key] / middle[other][key]
                parts.append(f"{other} {ratio:.0%}")
                if target is not None and mine == "emulator" and other == "nginx":
                    parts[-1] += f" (target {target:.0%}: {'ok' if ratio >= target else 'MISSED'})"
        if parts:
            lines.append(f"{mine + '/':<10}" + "  ".join(parts))
    if all(name in middle for name in EMULATORS) and middle["baseline"][key]:
        line = f"emulator/baseline {middle['emulator'][key] / middle['baseline'][key]:.3f}x"
        if samples is not None:
            paired = [mine[key] / theirs[key] for mine, theirs in zip(samples["emulator"], samples["baseline"])
                      if theirs[key]]
            if paired:
                line += f"  (median of the rounds' ratios {statistics.median(paired):.3f}x)"
        lines.append(line)
    return lines


def table(title: str, samples: dict[str, list[dict[str, float]]], columns: list[tuple[str, str, str]],
          target: float | None = None) -> None:
    """One compact table per case: the median of each column per path, the first column's value in every
    round, then the ratios of the first column's medians. ``columns``: (key, heading, format) triples; keys
    ``failed``/``errors`` in a sample are summed over the rounds and shown when not zero."""
    middle = medians(samples)
    key = columns[0][0]
    rounds = max((len(values) for values in samples.values()), default=0)
    print(f"{title}  (median of {rounds} round{'s' if rounds != 1 else ''})")
    headings = "".join(f"{heading:>11}" for _, heading, _ in columns)
    print(f"  {'path':<9}{headings}   {columns[0][1]} by round")
    for name, values in samples.items():
        cells = "".join(f"{fmt.format(middle[name][k]):>11}" for k, _, fmt in columns)
        by_round = " ".join(columns[0][2].format(v[key]).strip() for v in values)
        bad = {k: sum(v.get(k, 0.0) for v in values) for k in ("failed", "errors")}
        note = f"  ({bad['failed']:.0f} non-2xx, {bad['errors']:.0f} socket errors)" if any(bad.values()) else ""
        print(f"  {name:<9}{cells}   {by_round}{note}")
    for line in ratios(middle, key, target, samples):
        print("  " + line)
    print(flush=True)
