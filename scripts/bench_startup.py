"""How long `elbv2-emulator serve` takes to answer /_emulator/health, and its idle memory (run by hand).

    python scripts/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import requests
from benchlib import free_port, rss_mb

TARGET_SECONDS = 1.0




def measure_once() -> tuple[float, float]:
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1).ok:
                    return time.monotonic() - started, rss_mb(process.pid)
            except requests.ConnectionError:
                time.sleep(0.005)
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = [measure_once() for _ in range(parser.parse_args().runs)]
    ready = [r[0] for r in runs]
    print(f"ready after: median {statistics.median(ready)*1000:.0f} ms, max {max(ready)*1000:.0f} ms "
          f"(target < {TARGET_SECONDS*1000:.0f} ms); idle RSS {statistics.median(r[1] for r in runs):.0f} MB")


if __name__ == "__main__":
    main()
