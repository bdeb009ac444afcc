"""Load-balancer DNS names resolve to the loopback address the load balancer listens on.

``DnsResponder`` is a small DNS server (dnslib) for tools outside Python: point a resolver at it
(``dig @127.0.0.1 -p 5353 my-alb-1234567890.us-east-1.elb.amazonaws.com``). Python tests use
``emulator.testing.elb_dns`` instead, which patches ``socket.getaddrinfo`` in-process. Both read the
same table, ``dns_table``. Names the emulator does not own are answered NXDOMAIN (it is not a recursor).
"""

from __future__ import annotations

import logging
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


class _TableResolver(BaseResolver):
    def __init__(self, table: Callable[[], dict[str, str]]) -> None:
        self._table = table

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        address = self._table().get(name)
        if address is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype in (QTYPE.A, QTYPE.ANY):
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=DNS_TTL))
        return reply  # other record types: an empty NOERROR answer, as for a name with only A records


class _QuietLogger:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


class DnsResponder:
    """Answers A queries for load-balancer DNS names over UDP and TCP on ``host:port``."""

    def __init__(self, store: Store, host: str = "127.0.0.1", port: int = 5353) -> None:
        resolver = _TableResolver(lambda: dns_table(store))
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
