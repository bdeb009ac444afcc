"""ALB client connections as connection logs see them ("Connection logs for your Application Load Balancer",
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-connection-logs.html):
one ``ConnectionRecord`` when a connection is admitted and one when it closes, or a single ``rejected`` one
when it is refused (security groups, the connection cap, a revoked client certificate). An admitted
connection's traceability id and TLS session are what its requests' records share (``Observed``).

Only observed listeners (``recording.Recording``) get here; for mTLS listeners the leaf certificate's subject,
validity and serial are parsed once per connection.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, replace
from time import time

from cryptography import x509

from api_models.observations import ConnectionRecord
from emulator.dataplane.alb.recording import Recording, conn_trace_id
from emulator.dataplane.tls.termination import TlsSession, TlsTerminator

REVOKED = "Failed:ClientCertCrlHit"  # AWS's tls_verify_status for a leaf on the trust store's revocation lists


@dataclass(slots=True)
class Observed:
    """An admitted client connection's record (reported again, closed, when it ends) and TLS session."""

    record: ConnectionRecord
    session: TlsSession | None
    recording: Recording

    def closed(self) -> None:
        self.recording.observer.connection(replace(self.record, time=time(), closed=True))


def opened(recording: Recording, transport: asyncio.BaseTransport, tls: TlsTerminator | None, mtls: str,
           verify_status: str = "Success") -> Observed:
    """The record of a connection being admitted (or, with a failed ``verify_status``, refused); reported."""
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
    recording.observer.connection(record)
    return Observed(record, session, recording)


def rejected(recording: Recording, transport: asyncio.BaseTransport) -> None:
    """A connection refused before anything was read (security groups, the connection cap)."""
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
