"""ALB client connections as connection logs see them ("Connection logs for your Application Load Balancer",
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-connection-logs.html):
one ``ConnectionRecord`` when a connection is admitted and one when it closes, or a single ``rejected`` one
when it is refused (security groups, the connection cap, a revoked client certificate). An admitted
connection's traceability id and TLS session are what its requests' records share (``Observed``).

Only observed listeners (``recording.Recording``) get here. Every connection is counted in the listener's
``ListenerCounters`` (admitted, closed, rejected: the connection metrics); its records are made only when its
load balancer writes connection or access logs (``Recording.connection_traces``), and handed over with
connection logs (``Recording.connection_records``). For mTLS listeners the leaf certificate's subject,
validity and serial are then parsed once per connection.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from time import time

from cryptography import x509

from api_models.observations import ConnectionRecord
from emulator.dataplane.alb.recording import Recording, conn_trace_id
from emulator.dataplane.tls.termination import TlsSession, TlsTerminator

REVOKED = "Failed:ClientCertCrlHit"  # AWS's tls_verify_status for a leaf on the trust store's revocation lists


@dataclass(slots=True)
class Observed:
    """An admitted client connection: its record (None when it is only counted; reported again, closed, when
    it ends) and TLS session."""

    record: ConnectionRecord | None
    session: TlsSession | None
    recording: Recording

    def closed(self) -> None:
        recording, opened = self.recording, self.record
        recording.counters.closed_connections += 1
        if opened is not None and recording.connection_records:
            recording.observer.connection(ConnectionRecord(
                opened.load_balancer_arn, opened.listener_arn, opened.client_ip, opened.client_port,
                opened.listener_port, time(), opened.conn_trace_id, closed=True))


def opened(recording: Recording, transport: asyncio.BaseTransport, tls: TlsTerminator | None, mtls: str,
           verify_status: str = "Success") -> Observed:
    """A connection being admitted (or, with a failed ``verify_status``, refused): counted, and its record
    made and reported when its load balancer's logs want it."""
    if verify_status == "Success":
        recording.counters.new_connections += 1
    if not recording.connection_traces:
        return Observed(None, None, recording)
    peer = transport.get_extra_info("peername") or ("", 0)
    record = ConnectionRecord(recording.load_balancer_arn, recording.listener_arn, peer[0], peer[1],
                              recording.port, time(), conn_trace_id())
    ssl_object = transport.get_extra_info("ssl_object") if tls is not None else None
    session = None
    if ssl_object is not None and tls is not None:
        session = tls.session(ssl_object)
        record.tls_protocol, record.tls_cipher = session.protocol, session.cipher
        record.tls_handshake_latency = session.handshake_seconds
        if mtls != "off":
            _leaf(record, ssl_object, verify_status if mtls == "verify" else "-")
    record.rejected = verify_status != "Success"
    if recording.connection_records:
        recording.observer.connection(record)
    return Observed(record, session, recording)


def rejected(recording: Recording, transport: asyncio.BaseTransport) -> None:
    """A connection refused before anything was read (security groups, the connection cap)."""
    recording.counters.rejected_connections += 1
    if not recording.connection_records:
        return
    peer = transport.get_extra_info("peername") or ("", 0)
    recording.observer.connection(ConnectionRecord(recording.load_balancer_arn, recording.listener_arn, peer[0],
                                                   peer[1], recording.port, time(), conn_trace_id(), rejected=True))


def _leaf(record: ConnectionRecord, ssl_object: ssl.SSLObject, verify_status: str) -> None:
    der = ssl_object.getpeercert(binary_form=True)
    if der is None:
        return
    leaf = x509.load_der_x509_certificate(der)
    record.leaf_client_cert_subject = leaf.subject.rfc4514_string()
    record.leaf_client_cert_validity = (f"NotBefore={leaf.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ};"
                                        f"NotAfter={leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}")
    record.leaf_client_cert_serial_number = format(leaf.serial_number, "X")
    record.tls_verify_status = verify_status
