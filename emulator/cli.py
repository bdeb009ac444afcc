"""``elbv2-emulator serve``: the command-line entry point."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from emulator.server import EmulatorServer
from emulator.timing import Timing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="elbv2-emulator", description="A local AWS ELBv2 with real traffic.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API endpoint and the load balancers")
    serve.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1; 0.0.0.0 in a container)")
    serve.add_argument("--port", type=int, default=4566, help="API port (default 4566, like LocalStack)")
    serve.add_argument("--state-dir", type=Path, help="persist every change here (SQLite); restored on restart")
    serve.add_argument("--timing", choices=["fast", "aws"], default="fast", help="health-check/provisioning clock")
    serve.add_argument("--dns-port", type=int, help="also answer DNS for load-balancer names on this UDP/TCP port")
    serve.add_argument(
        "--listen-host",
        help="bind every listener on this address instead of each LB's own 127.1.x.y (0.0.0.0 in a container)",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    EmulatorServer(args.host, args.port, args.state_dir, Timing.named(args.timing), args.dns_port, args.listen_host).serve_forever()


if __name__ == "__main__":
    main()
