"""``elbv2-emulator serve`` and ``elbv2-emulator status``: the command-line entry point."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from emulator.api.origins import OriginSettings
from emulator.dataplane.published_ports import PortRange
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
    serve.add_argument(
        "--listener-ports", type=_port_range, metavar="FIRST-LAST",
        help="bind every listener on a port of this range instead of its own, e.g. 4510-4559 to publish them all"
             " from a container (default: env ELBV2_EMULATOR_LISTENER_PORTS)",
    )
    serve.add_argument(
        "--security-groups", choices=["enforce", "off"],
        help="enforce load balancers' security groups on their traffic (the default), or admit every source"
             " (default: env ELBV2_EMULATOR_SECURITY_GROUPS, else enforce)",
    )
    serve.add_argument(
        "--observability", choices=["on", "off"],
        help="record traffic for access logs, CloudWatch metrics and the dashboard (the default), or record"
             " nothing (default: env ELBV2_EMULATOR_OBSERVABILITY, else on)",
    )
    serve.add_argument(
        "--log-requests", action="store_true",
        help="print one line per ALB request and NLB flow, in AWS's access-log format, on stdout",
    )
    _add_origin_options(serve)
    status = commands.add_parser("status", help="show a running emulator's load balancers, listeners and targets")
    status.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
                        help="the emulator's URL (default: env AWS_ENDPOINT_URL, else http://127.0.0.1:4566)")
    status.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    status.add_argument("--json", action="store_true", help="one JSON document (per refresh) instead of a table")
    status.add_argument("--watch", type=float, nargs="?", const=2.0, metavar="SECONDS",
                        help="refresh every SECONDS (default 2) until interrupted")
    args = parser.parse_args(argv)
    if args.command == "status":
        from emulator import status as status_command  # (the server's imports are not needed for this)

        try:
            status_command.run(args.endpoint, args.region, args.json, args.watch)
        except KeyboardInterrupt:
            pass
        return
    origins = OriginSettings.from_lists(
        args.extra_cors_allowed_origins, args.extra_allowed_hosts, args.disable_cors_checks)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    EmulatorServer(args.host, args.port, args.state_dir, Timing.named(args.timing), args.dns_port, args.listen_host,
                   origins=origins,
                   enforce_security_groups=None if args.security_groups is None else args.security_groups == "enforce",
                   observability=None if args.observability is None else args.observability == "on",
                   log_requests=args.log_requests, listener_ports=args.listener_ports,
                   ).serve_forever()


def _add_origin_options(serve: argparse.ArgumentParser) -> None:
    """Browser checks (README "Browsers and the API"); each option defaults to its environment variable."""
    env = os.environ.get
    serve.add_argument(
        "--extra-cors-allowed-origins", default=env("ELBV2_EMULATOR_EXTRA_CORS_ALLOWED_ORIGINS", ""), metavar="LIST",
        help="comma-separated origins that may call the API besides localhost pages and file:// (or *)",
    )
    serve.add_argument(
        "--extra-allowed-hosts", default=env("ELBV2_EMULATOR_EXTRA_ALLOWED_HOSTS", ""), metavar="LIST",
        help="comma-separated Host names the API answers besides loopback names (name, *.suffix or *)",
    )
    serve.add_argument(
        "--disable-cors-checks", action="store_true",
        default=env("ELBV2_EMULATOR_DISABLE_CORS_CHECKS", "").lower() in ("1", "true", "yes"),
        help="answer every Origin and Host, with CORS headers for any origin",
    )


def _port_range(text: str) -> PortRange:
    try:
        return PortRange.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


if __name__ == "__main__":
    main()
