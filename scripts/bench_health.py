"""How much CPU the health checker costs: 1,000 targets checked every second (target: < 10% of one core).

The checker runs as in the emulator (on a uvloop loop, one timer per target) against a backend in another
process (so the backend's CPU is not counted): 20 target groups x 50 ports = 1,000 targets. After a warm-up,
the process CPU time over a window is compared with the window's wall time.

    python scripts/bench_health.py [--protocol HTTP|TCP] [--targets 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop  # noqa: E402

from api_models.resources import TargetGroup, TargetRegistration  # noqa: E402
from emulator.dataplane.health import HealthChecker  # noqa: E402
from emulator.dataplane.runtime import Collaborators  # noqa: E402
from emulator.dataplane.selection.group import TargetGroupRuntime  # noqa: E402
from emulator.store.target_health import TargetHealthBoard  # noqa: E402
from emulator.timing import Timing  # noqa: E402

PORTS = 50
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _Answer(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if b"\r\n\r\n" in data:
            self.transport.write(ANSWER)  # type: ignore[attr-defined]
            self.transport.close()


def _backend(ports: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(_Answer, "127.0.0.1", 0, backlog=4096) for _ in range(PORTS)]
        for server in servers:
            ports.put(server.sockets[0].getsockname()[1])
        while not stop.is_set():
            await asyncio.sleep(0.1)

    uvloop.run(serve())


def _groups(count: int, ports: list[int], protocol: str) -> dict[str, TargetGroupRuntime]:
    now = datetime.now(UTC)
    groups: dict[str, TargetGroupRuntime] = {}
    for g in range(count // len(ports)):
        arn = f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/bench{g}/{g:016x}"
        group = TargetGroup(
            account="123456789012", region="us-east-1", TargetGroupArn=arn, TargetGroupName=f"bench{g}",
            Protocol="HTTP", Port=80, HealthCheckProtocol=protocol, HealthCheckPort="traffic-port",
            HealthCheckEnabled=True, HealthCheckIntervalSeconds=1, HealthCheckTimeoutSeconds=1,  # below AWS's
            HealthyThresholdCount=2, UnhealthyThresholdCount=2, HealthCheckPath="/", Matcher={"HttpCode": "200"},
            TargetType="ip", attributes={},
        )
        registrations = [
            TargetRegistration(account="123456789012", region="us-east-1", target_group_arn=arn, Id="127.0.0.1",
                               Port=port, registered_at=now)
            for port in ports
        ]
        runtime = TargetGroupRuntime(group)
        runtime.update(group, registrations, lambda reg: reg.Id)
        groups[arn] = runtime
    return groups


async def _measure(groups: dict[str, TargetGroupRuntime], seconds: float) -> None:
    board = TargetHealthBoard()
    checker = HealthChecker(Collaborators(Timing.named("aws"), board, lambda arn: None, lambda *a: "127.0.0.1"))
    # Stands in for the listener forwarding to each group (only its address and port are read, for NLB checks).
    listener = SimpleNamespace(load_balancer=SimpleNamespace(address="127.1.0.1"), listener=SimpleNamespace(Port=80))
    await checker.sync(groups, dict.fromkeys(groups, listener))  # type: ignore[arg-type]
    await asyncio.sleep(3.0)  # warm-up: every target has had its first (jittered) checks
    wall, before = time.perf_counter(), os.times()
    await asyncio.sleep(seconds)
    wall, after = time.perf_counter() - wall, os.times()
    user, system = after.user - before.user, after.system - before.system
    cpu = user + system
    targets = [t for g in groups.values() for t in g.targets.values()]
    healthy = sum(1 for t in targets if t.healthy)
    checker.close()
    print(f"{len(targets)} targets, 1 s interval: {cpu:.2f} s CPU over {wall:.2f} s = {100 * cpu / wall:.1f}% of one core "
          f"(user {user:.2f} s, kernel {system:.2f} s; target < 10%: ratio {cpu / wall / 0.10:.2f}); "
          f"{healthy}/{len(targets)} healthy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="HTTP", choices=["HTTP", "TCP"])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    ports_queue: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    backend = multiprocessing.Process(target=_backend, args=(ports_queue, stop), daemon=True)
    backend.start()
    ports = [ports_queue.get(timeout=10) for _ in range(PORTS)]
    try:
        print(f"health checks ({args.protocol}):", end=" ")
        uvloop.run(_measure(_groups(args.targets, ports, args.protocol), args.seconds))
    finally:
        stop.set()
        backend.join(timeout=5)


if __name__ == "__main__":
    main()
