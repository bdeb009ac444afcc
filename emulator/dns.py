"""Load-balancer DNS names resolve to the address the load balancer listens on.

``DnsResponder`` is a small DNS server (dnslib) for tools outside Python: point a resolver at it
(``dig @127.0.0.1 -p 5353 my-alb-1234567890.us-east-1.elb.amazonaws.com``). Python tests use
``emulator.testing.elb_dns`` instead, which patches ``socket.getaddrinfo`` in-process. Both read the
same table, ``dns_table``. Names the emulator does not own are answered NXDOMAIN (it is not a recursor).

With ``--listen-host`` every listener binds that one address, so the responder answers it instead of each load
balancer's own. A wildcard (``0.0.0.0``, as in the Docker image) binds every interface: the answer is then the
emulator's address on the asker's route, so another container on a compose network that uses the emulator as
its DNS server reaches the listeners at the emulator container's address, and a tool on the emulator's own
host at 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable

from dnslib import QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSServer

from api_models.resources import LoadBalancer
from emulator.store import Store

DNS_TTL = 60  # the TTL AWS gives load-balancer A records
log = logging.getLogger("elbv2_emulator.dns")


def dns_table(store: Store) -> dict[str, str]:
    """Lower-cased DNSName -> the address of every load balancer."""
    return {lb.DNSName.lower(): lb.address for lb in store.snapshot(LoadBalancer) if lb.DNSName}  # GWLBs have none


def reachable_from(client_ip: str) -> str:
    """This machine's address on the route to ``client_ip``: where that client reaches a wildcard-bound port.
    (``connect`` on a UDP socket sends nothing: it only picks the route and its source address.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((client_ip, 53))
        return str(probe.getsockname()[0])


class _TableResolver(BaseResolver):
    def __init__(self, table: Callable[[], dict[str, str]], listen_host: str | None) -> None:
        self._table = table
        self._listen_host = listen_host
        self._wildcard = listen_host is not None and ipaddress.ip_address(listen_host).is_unspecified

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        address = self._table().get(name)
        if address is not None and self._listen_host is not None:
            address = reachable_from(handler.client_address[0]) if self._wildcard else self._listen_host
        if address is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype in (QTYPE.A, QTYPE.ANY):
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=DNS_TTL))
        return reply  # other record types: an empty NOERROR answer, as for a name with only A records


class _QuietLogger:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


class DnsResponder:
    """Answers A queries for load-balancer DNS names over UDP and TCP on ``host:port``; ``listen_host``: the
    server's --listen-host, where every listener binds (see above)."""

    def __init__(self, store: Store, host: str = "127.0.0.1", port: int = 5353, listen_host: str | None = None) -> None:
        resolver = _TableResolver(lambda: dns_table(store), listen_host)
        self._servers = [
            DNSServer(resolver, address=host, port=port, tcp=tcp, logger=_QuietLogger()) for tcp in (False, True)
        ]

    def start(self) -> None:
        for server in self._servers:
            server.start_thread()
        log.info("DNS responder for load-balancer names on %s", self._servers[0].server.server_address)

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
