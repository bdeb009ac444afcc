"""NLB data-plane benchmark: the emulator's TCP/UDP listeners vs direct, nginx ``stream`` and haproxy ``mode tcp``.

Cases, each measured for ``--seconds`` against every path (direct to the backend, through the emulator's
NLB listener, through nginx, through haproxy where installed and, with ``--baseline DIR``, through the same
NLB in a second emulator run from another checkout, e.g. main before a refactoring, with the same flags),
``--rounds`` times: within a round each path runs once, one after the other (the two emulators swap places
every other round), and each case prints one table of medians and ratios:
  bulk   one TCP connection pushing data to a sink: MB/s
  conn   new TCP connections per second (connect, 1-byte echo, close), 32 at a time
  http   keep-alive HTTP requests/s through a TCP listener (wrk -t1 -c50) to a small HTTP answerer
  udp    UDP datagrams/s echoed (16 client flows, 8 datagrams in flight each)
  idle   RSS of the emulator process holding 10,000 concurrent idle TCP flows (each emulator, one round)
The emulator runs as a user runs it (``python -m emulator.cli serve``, configured through boto3). Backends
and load generators are separate uvloop processes. Targets (2 cores, emulator/nginx): bulk >= 90%,
http >= 80%, conn >= 60%, udp >= 75%; idle RSS < 300 MB.

The reference proxies are configured like the emulator:
  nginx worker_processes 1 / haproxy nbthread 1: the emulator's data plane is one event loop.
  nginx proxy_buffer_size 256k (default 16k): the emulator reads 256 KB at a time (uvloop's read size).
  haproxy tune.bufsize 262144 (default 16 KB): the same 256 KB buffers.
  nginx proxy_half_close on: the bulk case reads the sink's count after its half-close (the emulator relays it).
  no splicing, no reuseport: the emulator copies through user space on one listening socket.

    python scripts/bench_l4.py [--seconds 5] [--rounds 5] [--cases bulk,conn,http,udp,idle] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

HTTP_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
FD_LIMIT = 65536


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, max(hard, FD_LIMIT)))
    except (ValueError, OSError):  # not privileged: keep what we have
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- backends (own process) -------------------------------------------------------------------------


class _Sink(asyncio.Protocol):
    """Counts bytes; on the client's EOF answers the count (8 bytes) and closes."""

    def connection_made(self, transport):
        self.transport, self.count = transport, 0

    def data_received(self, data):
        self.count += len(data)

    def eof_received(self):
        self.transport.write(struct.pack("!Q", self.count))
        self.transport.close()


class _Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class _Http(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(HTTP_ANSWER * data.count(b"\r\n\r\n"))


class _UdpEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


def _backends(ports: dict[str, int]) -> None:
    _raise_fd_limit()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for name, factory in (("sink", _Sink), ("echo", _Echo), ("http", _Http)):
            await loop.create_server(factory, "127.0.0.1", ports[name], backlog=4096)
        await loop.create_datagram_endpoint(_UdpEcho, local_addr=("127.0.0.1", ports["echo"]))
        await asyncio.Event().wait()

    uvloop.run(serve())


# -- load generators (own process each) ------------------------------------------------------------


def _bulk(address: tuple[str, int], seconds: float) -> float:
    chunk = b"\0" * (256 << 10)
    with socket.create_connection(address) as sock:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            sock.sendall(chunk)
        sock.shutdown(socket.SHUT_WR)
        (count,) = struct.unpack("!Q", sock.recv(8, socket.MSG_WAITALL))
        return count / (time.perf_counter() - start) / 1e6


class _OneExchange(asyncio.Protocol):
    """Connect, send one byte, close on the echo."""

    def __init__(self, done: asyncio.Future) -> None:
        self.done = done

    def connection_made(self, transport):
        self.transport = transport
        transport.write(b"x")

    def data_received(self, data):
        self.transport.close()

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(None)


async def _conn_worker(address, deadline: float, counter: list[int]) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        done = loop.create_future()
        try:
            await loop.create_connection(lambda done=done: _OneExchange(done), *address)
            await done
            counter[0] += 1
        except OSError:
            await asyncio.sleep(0.01)


def _conn(address: tuple[str, int], seconds: float) -> float:
    async def run() -> float:
        counter = [0]
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.gather(*(_conn_worker(address, start + seconds, counter) for _ in range(32)))
        return counter[0] / (loop.time() - start)

    return uvloop.run(run())


class _UdpClient(asyncio.DatagramProtocol):
    def __init__(self, counter: list[int], deadline: float) -> None:
        self.counter, self.deadline = counter, deadline

    def connection_made(self, transport):
        self.transport = transport
        for _ in range(8):
            transport.sendto(b"d" * 64)

    def datagram_received(self, data, addr):
        self.counter[0] += 1
        if asyncio.get_running_loop().time() < self.deadline:
            self.transport.sendto(data)


def _udp(address: tuple[str, int], seconds: float) -> float:
    async def run() -> float:
        loop, counter = asyncio.get_running_loop(), [0]
        start = loop.time()
        for _ in range(16):
            await loop.create_datagram_endpoint(lambda: _UdpClient(counter, start + seconds), remote_addr=address)
        await asyncio.sleep(seconds)
        return counter[0] / seconds

    return uvloop.run(run())


def _http(address: tuple[str, int], seconds: float) -> float | None:
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(["wrk", "-t1", "-c50", f"-d{max(1, round(seconds))}s", f"http://{address[0]}:{address[1]}/"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def _measure(case, address, seconds: float):
    """Run a load generator in its own process (so it does not share a GIL with anything measured)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(case, (address, seconds))


# -- proxies ---------------------------------------------------------------------------------------


def _nlb(emulator: benchlib.Emulator, ports: dict[str, int]) -> dict[str, tuple[str, int]]:
    """An NLB whose listeners (one per case) forward to the backends: the address of each listener."""
    elbv2 = emulator.elbv2
    lb = elbv2.create_load_balancer(Name="bench", Type="network", Subnets=emulator.subnets)["LoadBalancers"][0]
    addresses: dict[str, tuple[str, int]] = {}
    for case, backend, protocol in (("bulk", "sink", "TCP"), ("conn", "echo", "TCP"), ("http", "http", "TCP"),
                                    ("udp", "echo", "UDP"), ("idle", "echo", "TCP")):
        tg = elbv2.create_target_group(
            Name=f"bench-{case}", Protocol=protocol, Port=ports[backend], VpcId=emulator.vpc, TargetType="ip",
            HealthCheckProtocol="TCP", HealthCheckPort=str(ports["echo"]),
        )["TargetGroups"][0]["TargetGroupArn"]
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": ports[backend]}])
        arn = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol=protocol,
                                    Port=benchlib.free_port(),
                                    DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
                                    )["Listeners"][0]["ListenerArn"]
        addresses[case] = emulator.bound(arn)
    return addresses


def _nginx(ports: dict[str, int], directory: str) -> tuple[subprocess.Popen, dict[str, tuple[str, int]]] | None:
    if shutil.which("nginx") is None:
        return None
    listen = {case: benchlib.free_port() for case in ("bulk", "conn", "http", "udp")}
    modules = "include /etc/nginx/modules-enabled/*.conf;" if Path("/etc/nginx/modules-enabled").exists() else ""
    config = f"""{modules}
worker_processes 1; daemon off; pid {directory}/nginx.pid; error_log {directory}/nginx.err;
events {{ worker_connections 30000; }}
stream {{
  proxy_half_close on;  # the bulk case reads the sink's count after its half-close
  proxy_buffer_size 256k;  # the emulator reads 256 KB at a time
  server {{ listen 127.0.0.1:{listen['bulk']}; proxy_pass 127.0.0.1:{ports['sink']}; }}
  server {{ listen 127.0.0.1:{listen['conn']}; proxy_pass 127.0.0.1:{ports['echo']}; }}
  server {{ listen 127.0.0.1:{listen['http']}; proxy_pass 127.0.0.1:{ports['http']}; }}
  server {{ listen 127.0.0.1:{listen['udp']} udp; proxy_pass 127.0.0.1:{ports['echo']}; }}
}}
"""
    path = Path(directory, "nginx.conf")
    path.write_text(config)
    process = subprocess.Popen(["nginx", "-c", str(path), "-e", f"{directory}/nginx.err"], preexec_fn=_raise_fd_limit)
    return _up("nginx (its stream module is a separate package on some systems)", process, listen)


def _haproxy(ports: dict[str, int], directory: str) -> tuple[subprocess.Popen, dict[str, tuple[str, int]]] | None:
    if shutil.which("haproxy") is None:
        return None
    listen = {case: benchlib.free_port() for case in ("bulk", "conn", "http")}
    backends = {"bulk": "sink", "conn": "echo", "http": "http"}
    sections = "".join(
        f"listen {case}\n  bind 127.0.0.1:{port}\n  server s 127.0.0.1:{ports[backends[case]]}\n"
        for case, port in listen.items()
    )
    config = (f"global\n  nbthread 1\n  maxconn 9000\n  tune.bufsize 262144\ndefaults\n  mode tcp\n"
              f"  timeout connect 5s\n"
              f"  timeout client 60s\n  timeout server 60s\n{sections}")
    path = Path(directory, "haproxy.cfg")
    path.write_text(config)
    process = subprocess.Popen(["haproxy", "-f", str(path)], preexec_fn=_raise_fd_limit)
    return _up("haproxy", process, listen)


def _up(name: str, process: subprocess.Popen, listen: dict[str, int],
        ) -> tuple[subprocess.Popen, dict[str, tuple[str, int]]] | None:
    """The proxy once its TCP ports accept; None (left out of the run, said so) if it exited instead."""
    try:
        for case, port in listen.items():
            if case != "udp":
                benchlib.wait_port("127.0.0.1", port, 5)
    except RuntimeError:
        process.kill()
        process.wait(10)
        print(f"{name} did not start: left out", file=sys.stderr)
        return None
    return process, {case: ("127.0.0.1", port) for case, port in listen.items()}


# -- the run ---------------------------------------------------------------------------------------

CASES = {"bulk": (_bulk, "MB/s", 0.90), "conn": (_conn, "conn/s", 0.60), "http": (_http, "req/s", 0.80),
         "udp": (_udp, "dgram/s", 0.75)}
TITLES = {"bulk": "bulk: one TCP connection to a sink", "conn": "conn: connect, 1-byte echo, close, 32 at a time",
          "http": "http: wrk -t1 -c50 through a TCP listener", "udp": "udp: 16 flows x 8 datagrams in flight"}


def _idle(name: str, emulator: benchlib.Emulator, address: tuple[str, int], wanted: int = 10_000) -> None:
    """Each flow costs the emulator two descriptors: without privileges to raise the limit, hold as many flows
    as fit and extrapolate the per-flow cost to ``wanted``."""
    _raise_fd_limit()
    count = min(wanted, (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 200) // 2)
    before = emulator.rss_mb()
    socks = []
    for _ in range(count):
        sock = socket.create_connection(address)
        sock.sendall(b"x")  # one byte through, so the flow is fully established on both legs
        socks.append(sock)
    for sock in socks:
        sock.recv(1)
    after = emulator.rss_mb()
    for sock in socks:
        sock.close()
    at_wanted = before + (after - before) * wanted / count
    verdict = "ok" if at_wanted < 300 else "MISSED"
    print(f"idle {name:<9}{count} flows: RSS {before:.0f} MB -> {after:.0f} MB "
          f"({(after - before) * 1024 / count:.1f} KB/flow); at {wanted}: {at_wanted:.0f} MB, "
          f"target < 300 MB: {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="per case, path and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", default="bulk,conn,http,udp,idle")
    parser.add_argument("--baseline", metavar="DIR", help="another checkout of this repository: its emulator "
                        "runs next to this tree's, every case against both")
    args = parser.parse_args()
    cases = args.cases.split(",")
    baseline = benchlib.checkout(args.baseline)
    _raise_fd_limit()  # inherited by the emulators and proxies
    ports = {name: benchlib.free_port() for name in ("sink", "echo", "http")}
    backend = multiprocessing.get_context("spawn").Process(target=_backends, args=(ports,), daemon=True)
    backend.start()
    time.sleep(0.5)
    directory = tempfile.mkdtemp(prefix="bench-l4-")
    emulators = benchlib.emulators(baseline)
    others: dict = {}
    try:
        nlbs = {name: _nlb(emulator, ports) for name, emulator in emulators.items()}
        time.sleep(1.0)  # first health checks done (fast timing), so every target is routable
        others = {name: start(ports, directory) for name, start in (("nginx", _nginx), ("haproxy", _haproxy))}
        print(f"{args.rounds} rounds x {args.seconds:g} s per path"
              + (f"; baseline = {emulators['baseline'].checkout}" if "baseline" in emulators else ""), flush=True)
        for case in [c for c in cases if c in CASES]:
            run, unit, target = CASES[case]
            paths = {name: addresses[case] for name, addresses in nlbs.items()}
            paths.update({name: started[1][case] for name, started in others.items()
                          if started is not None and case in started[1]})
            paths["direct"] = ("127.0.0.1", ports[{"bulk": "sink", "http": "http"}.get(case, "echo")])

            def measure(name: str, run=run, paths=paths) -> dict[str, float] | None:
                value = _measure(run, paths[name], args.seconds)
                return None if value is None else {"value": value}

            samples = benchlib.interleaved(list(paths), args.rounds, measure)
            benchlib.table(TITLES[case], samples, [("value", unit, "{:,.0f}")], target)
        if "idle" in cases:
            for name, emulator in emulators.items():
                _idle(name, emulator, nlbs[name]["idle"])
    finally:
        for emulator in emulators.values():
            emulator.stop()
        for started in others.values():
            if started is not None:
                started[0].terminate()
                started[0].wait(10)
        backend.terminate()


if __name__ == "__main__":
    main()
