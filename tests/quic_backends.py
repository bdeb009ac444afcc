"""Real QUIC endpoints for the NLB QUIC tests, on aioquic's sans-I/O ``QuicConnection``.

``QuicEchoServer`` is a target: it answers each stream's data with its name and the data, and issues only
connection IDs that carry its server ID where the QUIC-LB plaintext layout puts it (first octet, then the
8-byte server ID), as a target of a QUIC target group must. ``QuicClient`` drives one client connection over
a UDP socket it can replace (``rebind``), which is how a connection migrates to a new client address.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import trustme
from aioquic.buffer import Buffer
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ConnectionIdIssued, HandshakeCompleted, StreamDataReceived
from aioquic.quic.packet import QuicPacketType, pull_quic_header

ALPN = ["echo"]
CID_LENGTH = 16  # the server's connection IDs: first octet, 8-byte server ID, 7 random octets


def server_cid(server_id: bytes) -> bytes:
    return b"\x00" + server_id + os.urandom(CID_LENGTH - 1 - len(server_id))


class _ServerIdConnection(QuicConnection):
    """A server connection whose every connection ID encodes ``server_id``."""

    def __init__(self, *, server_id: bytes, **kwargs: Any) -> None:
        self._server_id = server_id
        super().__init__(**kwargs)
        cid = self._host_cids[0].cid = self.host_cid = server_cid(server_id)
        self._local_initial_source_connection_id = cid

    def _replenish_connection_ids(self) -> None:
        super()._replenish_connection_ids()
        for issued in self._host_cids:
            if not issued.was_sent and issued.cid[1:9] != self._server_id:
                issued.cid = server_cid(self._server_id)


class QuicEchoServer:
    def __init__(self, name: bytes, server_id: str, ca: trustme.CA, directory: Path, port: int = 0) -> None:
        self.name = name
        self.server_id = server_id  # as RegisterTargets takes it: "0x" + 16 hex digits
        self.connections: list[QuicConnection] = []  # every connection it accepted
        self.peers: set[tuple[str, int]] = set()  # every address it received from
        leaf, cert, key = ca.issue_cert("localhost"), directory / f"{server_id}.crt", directory / f"{server_id}.key"
        leaf.cert_chain_pems[0].write_to_path(str(cert))
        leaf.private_key_pem.write_to_path(str(key))
        self._configuration = QuicConfiguration(is_client=False, alpn_protocols=ALPN, connection_id_length=CID_LENGTH)
        self._configuration.load_cert_chain(str(cert), str(key))
        self._by_cid: dict[bytes, QuicConnection] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.02)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> QuicEchoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(65536)
            except TimeoutError:
                data, peer = b"", None
            now = time.monotonic()
            if peer is not None:
                self._receive(data, peer, now)
            for connection in self.connections:
                timer = connection.get_timer()
                if timer is not None and timer <= now:
                    connection.handle_timer(now)
                self._flush(connection, now)

    def _receive(self, data: bytes, peer: tuple[str, int], now: float) -> None:
        header = pull_quic_header(Buffer(data=data), host_cid_length=CID_LENGTH)
        connection = self._by_cid.get(header.destination_cid)
        if connection is None:
            if header.packet_type != QuicPacketType.INITIAL:  # a packet of a connection this server does not know
                return
            connection = _ServerIdConnection(server_id=bytes.fromhex(self.server_id[2:]), configuration=self._configuration,
                                             original_destination_connection_id=header.destination_cid)
            self.connections.append(connection)
            self._by_cid[header.destination_cid] = self._by_cid[connection.host_cid] = connection
        self.peers.add(peer)
        connection.receive_datagram(data, peer, now)
        while (event := connection.next_event()) is not None:
            if isinstance(event, ConnectionIdIssued):
                self._by_cid[event.connection_id] = connection
            elif isinstance(event, StreamDataReceived) and event.data:
                connection.send_stream_data(event.stream_id, self.name + event.data)

    def _flush(self, connection: QuicConnection, now: float) -> None:
        for datagram, address in connection.datagrams_to_send(now):
            self.sock.sendto(datagram, address)


class QuicClient:
    """One client connection to ``address`` (the NLB listener); ``request`` sends on a new stream and waits
    for the whole answer."""

    def __init__(self, address: tuple[str, int], ca: trustme.CA) -> None:
        self.address = address
        configuration = QuicConfiguration(is_client=True, alpn_protocols=ALPN, server_name="localhost")
        configuration.load_verify_locations(cadata=ca.cert_pem.bytes())
        self.connection = QuicConnection(configuration=configuration)
        self.sock = self._socket()
        self.handshake_done = False
        self._answers: dict[int, bytes] = {}

    @staticmethod
    def _socket() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        return sock

    def connect(self, timeout: float = 5.0) -> None:
        self.connection.connect(self.address, now=time.monotonic())
        self._run(lambda: self.handshake_done, timeout)

    def rebind(self) -> None:
        """Move the connection to a new client port and a new connection ID (an active migration)."""
        self.sock.close()
        self.sock = self._socket()
        self.connection.change_connection_id()

    @property
    def source_port(self) -> int:
        return self.sock.getsockname()[1]

    def request(self, payload: bytes, expected: int, timeout: float = 5.0) -> bytes:
        stream = self.connection.get_next_available_stream_id()
        self.connection.send_stream_data(stream, payload)
        self._run(lambda: len(self._answers.get(stream, b"")) >= expected, timeout)
        return self._answers[stream]

    def close(self) -> None:
        self.connection.close()
        self._flush()
        self.sock.close()

    def _flush(self) -> None:
        for datagram, address in self.connection.datagrams_to_send(time.monotonic()):
            self.sock.sendto(datagram, address)

    def _run(self, done: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            now = time.monotonic()
            assert now < deadline, "no answer from the QUIC server in time"
            self._flush()
            timer = self.connection.get_timer()
            self.sock.settimeout(max(0.001, min(0.05, (timer - now) if timer is not None else 0.05)))
            try:
                data, _ = self.sock.recvfrom(65536)
                self.connection.receive_datagram(data, self.address, time.monotonic())
            except TimeoutError:
                timer = self.connection.get_timer()
                if timer is not None and time.monotonic() >= timer:
                    self.connection.handle_timer(time.monotonic())
            while (event := self.connection.next_event()) is not None:
                if isinstance(event, HandshakeCompleted):
                    self.handshake_done = True
                elif isinstance(event, StreamDataReceived):
                    self._answers[event.stream_id] = self._answers.get(event.stream_id, b"") + event.data
        self._flush()
