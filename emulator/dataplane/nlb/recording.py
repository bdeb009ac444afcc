"""NLB flows as ``api_models.observations.FlowRecord``s: started when a flow begins, reported once when it ends;
and counted in the listener's ``FlowCounters`` at both moments (CloudWatch's NewFlowCount and ActiveFlowCount
need a flow in every period it is open, not only in the one it ends). A TCP or TLS flow is counted once its
connection is accepted, before admission and target choice: one the load balancer resets at once (refused, at
the cap, no routable target) is a new flow too, and counts in TCP_ELB_Reset_Count. A UDP flow is counted once a
datagram opens it (admitted, with a target): datagrams nothing is routable for open no flow and are dropped.

A listener has a ``FlowRecording`` only when traffic is observed (``Collaborators.observer``). TCP and TLS
flows are then served by the ``Observed*`` legs, which count bytes and tell who reset the flow; without an
observer the plain legs run, untouched. UDP flows count their datagrams' bytes when they have a record.

What AWS logs of a flow: "Access logs for your Network Load Balancer" (TLS listeners' entries: handshake
time, cipher, protocol, SNI, certificate, ALPN) and the TCP_*_Reset_Count metrics ("CloudWatch metrics for
your Network Load Balancer"): a reset is the client's, the target's, or the load balancer's own.
"""

from __future__ import annotations

import asyncio
from time import time

from api_models.observations import FlowCounters, FlowRecord, Observer
from emulator.dataplane.tls.termination import TlsTerminator


class FlowRecording:
    """What the records of one listener share, and where they go."""

    __slots__ = ("observer", "load_balancer_arn", "listener_arn", "listener_port", "tls", "counters")

    def __init__(self, observer: Observer, load_balancer_arn: str, listener_arn: str, listener_port: int) -> None:
        self.observer = observer
        self.load_balancer_arn = load_balancer_arn
        self.listener_arn = listener_arn
        self.listener_port = listener_port
        self.tls: TlsTerminator | None = None  # a TLS listener's termination (set once it is loaded)
        self.counters: FlowCounters = observer.flow_counters(load_balancer_arn, listener_arn)

    def start(self, protocol: str, client: tuple[str, int], transport: asyncio.BaseTransport | None = None) -> FlowRecord:
        """A flow from ``client`` begins; ``transport``: its TLS-terminated client connection, if any."""
        record = FlowRecord(self.load_balancer_arn, self.listener_arn, protocol, client[0], client[1],
                            self.listener_port, time())
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None and self.tls else None
        if ssl_object is not None and self.tls is not None:
            session = self.tls.session(ssl_object)
            record.protocol = "TLS"
            record.tls_handshake_time = session.handshake_seconds
            record.tls_protocol_version, record.tls_cipher = session.protocol, session.cipher
            record.domain_name, record.chosen_cert_arn = session.server_name, session.certificate_arn
            record.alpn_fe_protocol = ssl_object.selected_alpn_protocol() or "-"
        self.counters.opened[record.protocol] += 1
        return record

    def report(self, record: FlowRecord) -> None:
        """The flow has ended (each started record is reported exactly once)."""
        record.end_time = time()
        self.counters.closed[record.protocol] += 1
        self.observer.flow(record)
