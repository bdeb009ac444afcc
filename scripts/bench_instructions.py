"""CPU instructions per ALB request, counted by callgrind: a deterministic companion to bench_dataplane.py.

Throughput on a shared 2-core machine moves by several percent from one round to the next, which hides the
changes a refactoring makes to the hot path. Instructions executed per request do not move: this script runs
the emulator (and, with ``--baseline DIR``, a second checkout) under ``valgrind --tool=callgrind`` with
instrumentation off, creates the same ALB as bench_dataplane.py, warms it up, then counts the user-space
instructions of exactly ``--requests`` requests, sent by a plain socket client. Kernel work
(the syscalls, the same for both when the code paths are) is not counted.

Cases:
  keepalive  GET on kept-alive client connections
  newconn    GET with "Connection: close", a new client connection each

``--concurrency N`` sends on N connections at once and then reads every answer, so the emulator serves them
in batches as it does under wrk's load (and each request's share of the loop's own work is what it is then).
Counts are shown for all threads and for the busiest one, the data plane's event loop: under valgrind every
request takes ~50 times longer, so the other threads' periodic work (the observability hub's drains, health
checks) weighs ~50 times more per request than at full speed; the data plane's count is what throughput follows.

    python scripts/bench_instructions.py [--requests 300] [--cases keepalive,newconn] [--concurrency 1]
                                         [--baseline DIR] [--baseline-env NAME=VALUE ...] [--top 15]

``--baseline-env NAME=VALUE`` (repeatable, as in bench_dataplane.py) counts the baseline with those environment
variables, from this checkout unless ``--baseline`` names another: ``--baseline-env
ELBV2_EMULATOR_OBSERVABILITY=off`` counts what recording traffic costs per request.

``--top N`` also prints the N C functions (CPython's, llhttp's, uvloop's) whose instruction counts differ
most between the two, per request. Needs valgrind (Debian: ``apt-get install valgrind``). Each emulator takes
a minute or two to start under valgrind.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_dataplane  # noqa: E402
import benchlib  # noqa: E402

WARM_UP = 100


def _client(host: str, port: int, close: bool, concurrency: int) -> Callable[[], None]:
    """A function sending one request on each of ``concurrency`` connections, then reading every answer (so
    the emulator serves them in one loop iteration, as under wrk's load)."""
    head = b"GET / HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n" % (host.encode(), port, b"Connection: close\r\n" if close else b"")
    kept = [] if close else [socket.create_connection((host, port)) for _ in range(concurrency)]

    def one() -> None:
        sockets = [socket.create_connection((host, port)) for _ in range(concurrency)] if close else kept
        for sock in sockets:
            sock.sendall(head)
        for sock in sockets:
            if close:
                with sock:
                    while sock.recv(65536):
                        pass
                continue
            data = b""
            while not data.endswith(b"ok"):  # benchlib's backend answers "ok"
                data += sock.recv(65536)

    return one


def _count(name: str, checkout: Path, env: dict[str, str], case: str, requests: int, concurrency: int,
           backend_port: int, directory: str) -> tuple[int, int, Path]:
    """Instructions per request of ``case`` for the emulator from ``checkout`` run with ``env`` added to its
    environment: (all threads, the busiest thread: the data plane's), and the busiest thread's callgrind file."""
    out = Path(directory) / f"callgrind.{name}.{case}"
    emulator = benchlib.Emulator(checkout=checkout, env=env, startup_seconds=600, wrapper=(
        "valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
        f"--callgrind-out-file={out}"))
    rounds = max(1, requests // concurrency)
    try:
        host, port = bench_dataplane._alb(emulator, backend_port)
        one = _client(host, port, case == "newconn", concurrency)
        for _ in range(max(1, WARM_UP // concurrency)):
            one()
        pid = str(emulator.process.pid)
        subprocess.run(["callgrind_control", "--instr=on", pid], check=True, capture_output=True)
        for _ in range(rounds):
            one()
        subprocess.run(["callgrind_control", "--instr=off", pid], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "--dump", pid], check=True, capture_output=True)
    finally:
        emulator.stop()
    # The --dump wrote one file per thread (name.<part>-<thread>); the threads' other files are from exit.
    dumps: dict[Path, int] = {}
    for dump in out.parent.glob(out.name + ".*-*"):
        totals = re.search(r"^totals: (\d+)", dump.read_text(errors="replace"), re.MULTILINE)
        dumps[dump] = int(totals.group(1)) if totals else 0
    busiest = max(dumps, key=lambda dump: dumps[dump])
    done = rounds * concurrency
    return sum(dumps.values()) // done, dumps[busiest] // done, busiest


def _functions(dump: Path, requests: int) -> dict[str, float]:
    listing = subprocess.run(["callgrind_annotate", "--threshold=100", str(dump)], capture_output=True,
                             text=True).stdout
    costs: dict[str, float] = {}
    for line in listing.splitlines():
        match = re.match(r"\s*([\d,]+) \([^)]*\)\s+(.*)", line)
        if match and "PROGRAM TOTALS" not in line:
            name = re.sub(r" \[.*$", "", match.group(2)).rsplit(":", 1)[-1].strip()
            costs[name] = costs.get(name, 0.0) + int(match.group(1).replace(",", "")) / requests
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cases", default="keepalive,newconn")
    parser.add_argument("--baseline", help="another checkout of this repository, counted the same way")
    parser.add_argument("--baseline-env", metavar="NAME=VALUE", action="append", default=[],
                        help="run the baseline with this environment variable (repeatable)")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="connections sending at once (50: wrk's load, served in batches)")
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    checkouts: dict[str, tuple[Path, dict[str, str]]] = {"emulator": (benchlib.ROOT, {})}
    baseline = benchlib.checkout(args.baseline)
    baseline_env = dict(pair.split("=", 1) for pair in args.baseline_env)
    if baseline is not None or baseline_env:
        checkouts["baseline"] = (baseline or benchlib.ROOT, baseline_env)
    backend, backend_port = benchlib.http_backend()
    try:
        with tempfile.TemporaryDirectory() as directory:
            for case in args.cases.split(","):
                counts = {name: _count(name, root, env, case, args.requests, args.concurrency, backend_port, directory)
                          for name, (root, env) in checkouts.items()}
                print(f"{case}: user-space instructions per request ({args.requests} requests, "
                      f"{args.concurrency} at a time, callgrind)")
                print(f"  {'':<10} {'all threads':>12} {'data plane':>12}")
                for name, (total, data_plane, _) in counts.items():
                    print(f"  {name:<10} {total:>12,} {data_plane:>12,}")
                if "baseline" in counts:
                    ours, theirs = counts["emulator"], counts["baseline"]
                    print(f"  emulator/baseline {ours[0] / theirs[0]:.3f}x all threads, "
                          f"{ours[1] / theirs[1]:.3f}x data plane")
                    if args.top:
                        done = max(1, args.requests // args.concurrency) * args.concurrency  # (what _count counted)
                        mine, other = (_functions(dump, done) for _, _, dump in counts.values())
                        for name in sorted(mine.keys() | other.keys(),
                                           key=lambda n: -abs(mine.get(n, 0) - other.get(n, 0)))[:args.top]:
                            print(f"    {mine.get(name, 0):>9,.0f} {other.get(name, 0):>9,.0f}"
                                  f" {mine.get(name, 0) - other.get(name, 0):>+8,.0f}  {name}")
    finally:
        backend.terminate()


if __name__ == "__main__":
    main()
