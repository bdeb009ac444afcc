"""QUIC passthrough (QUIC and the UDP half of TCP_QUIC listeners): UDP flows that follow the connection ID.

AWS ("Listeners for your Network Load Balancers"): the NLB "acts as a pass through load balancer in accordance
with RFC9000", keeps a QUIC connection on its target by its connection ID, supports QUIC v1 only and does no
version negotiation. Each target of a QUIC or TCP_QUIC group is registered with an 8-byte server ID
(API_TargetDescription ``QuicServerId``) that it encodes in the connection IDs it issues. AWS's pages say
not where; the emulator reads it where the QUIC-LB plaintext layout puts it (draft-ietf-quic-load-balancers:
the connection ID's first octet, then the server ID), i.e. the 8 octets after the DCID's first octet:

- a long header (RFC 9000 §17.2: first byte, 4-byte version, DCID length, DCID) carries them when its DCID
  is at least 9 bytes long; a version other than 1 is dropped;
- a short header (§17.3: first byte, then the DCID, whose length only the server knows) carries them at
  offset 2, as every DCID the server issued is at least 9 bytes long.

Datagrams from a client address are forwarded on that address's flow (a ``UdpFlow``, as for UDP), as long as
their server ID is the flow target's or they carry none (the client's first Initial packets, whose DCID is
the client's own choice: the flow hash picks their target). A datagram from a new address (the client
migrated or was rebound by a NAT) whose server ID names a registered target opens a flow to that target,
so the connection stays on it. Flows are recorded as UDP flows (their transport). The fast path (a known
address, the flow's server ID) compares in place and allocates nothing.
"""

from __future__ import annotations

from emulator.dataplane.nlb.udp import UdpFlow, UdpListener
from emulator.dataplane.selection.group import Target, TargetGroupRuntime

_VERSION_1 = b"\x00\x00\x00\x01"  # RFC 9000 §15
_LONG_HEADER = 0x80
_SERVER_ID_LENGTH = 8  # "0x" followed by 16 hexadecimal characters (API_TargetDescription QuicServerId)
_LONG_SERVER_ID_OFFSET = 7  # first byte, version (4), DCID length (1), the DCID's first octet
_SHORT_SERVER_ID_OFFSET = 2  # first byte, the DCID's first octet
_MIN_DCID = 1 + _SERVER_ID_LENGTH


def server_id_offset(data: bytes) -> int | None:
    """Where the server ID of the packet's destination connection ID starts; 0 when it carries none; None
    when the datagram is not QUIC v1 and is dropped."""
    if data[0] & _LONG_HEADER:
        if not data.startswith(_VERSION_1, 1):  # QUIC v1 only, no version negotiation (AWS)
            return None
        return _LONG_SERVER_ID_OFFSET if len(data) > 5 and data[5] >= _MIN_DCID else 0
    return _SHORT_SERVER_ID_OFFSET if len(data) >= _SHORT_SERVER_ID_OFFSET + _SERVER_ID_LENGTH else 0


class QuicListener(UdpListener):
    """The listener socket's protocol for QUIC: every datagram goes to the flow of its connection's target."""

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if not data:
            return
        offset = server_id_offset(data)
        if offset is None:
            return
        flow = self.listener.udp_flows.get(addr)
        if flow is not None:
            server_id = flow.target.server_id
            if not offset or server_id is None or data.startswith(server_id, offset):
                flow.send(data)
                return
        chosen = self._by_server_id(data, offset) if offset else None
        if flow is not None:
            if chosen is None or chosen[1] is flow.target:  # an unknown server ID stays on the address's flow
                flow.send(data)
                return
            flow.reset()  # the address now carries a connection of another target
        opened: UdpFlow | None = self.open(addr, chosen)
        if opened is not None:
            opened.send(data)

    def _by_server_id(self, data: bytes, offset: int) -> tuple[TargetGroupRuntime, Target] | None:
        """The registered target whose server ID the packet names, if it may still take the connection's
        packets (healthy, or draining: a deregistered target finishes its connections)."""
        server_id = data[offset:offset + _SERVER_ID_LENGTH]
        for group in self.listener.route.rules.groups:  # server IDs are unique per listener (AWS)
            target = group.by_server_id.get(server_id)
            if target is not None and not target.unusable and (target.healthy or target.draining):
                return group, target
        return None
