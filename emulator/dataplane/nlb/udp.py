"""UDP forwarding: flows keyed by the client's address, one connected upstream socket per flow.

A datagram from a new client address opens a flow: a target is chosen by the flow hash and a UDP socket
connected to it; the flow keeps that target until it has been idle for 120 s (fixed by AWS; scaled by the
timing mode). Replies arriving on the flow's socket are sent back to the client from the listener's socket,
so the client sees answers from the address it sent to. The upstream sockets are plain non-blocking
sockets read with ``add_reader``: no coroutine or transport per flow, which keeps flow setup cheap.
UDP is lossy by nature: a datagram that meets a full socket buffer or a refusing target is dropped.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol

from api_models.observations import FlowRecord
from emulator.dataplane.nlb.idle import TICKS
from emulator.dataplane.nlb.proxy_protocol import header as proxy_header
from emulator.dataplane.nlb.recording import FlowRecording
from emulator.dataplane.nlb.route import Route
from emulator.dataplane.nlb.tracking import track, untrack
from emulator.dataplane.selection.group import Target, TargetGroupRuntime

_MAX_DATAGRAM = 65535
_READ_BURST = 64  # replies read per readiness callback, so one busy flow cannot starve the loop


class UdpFlowListener(Protocol):
    """What UDP flows need of their listener (``NlbListener``)."""

    route: Route  # read when a flow starts
    address: tuple[str, int]  # (ip, port) the listener is bound to: a PROXY header's destination
    udp_flows: dict[tuple, UdpFlow]  # open flows by client address; a flow leaves when reset
    udp_transport: asyncio.DatagramTransport | None  # the listener's socket: replies go out through it
    recording: FlowRecording | None  # where flows are reported (None: traffic is not observed)

    def choose(self, route: Route, protocol: str, client: tuple[str, int]) -> tuple[TargetGroupRuntime, Target] | None: ...
    def admit(self, transport: str, source: str, open_flows: int) -> bool: ...  # False: refused, or at the cap


class UdpFlow:
    __slots__ = ("listener", "client", "target", "sock", "header", "idle", "loop", "record")

    def __init__(self, listener: UdpFlowListener, client: tuple[str, int], target: Target, header: bytes) -> None:
        self.listener = listener
        self.client = client
        self.target = target
        self.header = header
        self.idle = 0
        family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.connect((target.host, target.port))  # numeric address: returns at once
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(self.sock.fileno(), self._replies)
        track(target, self)
        self.record: FlowRecord | None = None  # (observed listeners: set by the listener's protocol)

    def send(self, data: bytes) -> None:
        self.idle = 0
        if self.record is not None:
            self.record.received_bytes += len(data)
        try:
            self.sock.send(self.header + data if self.header else data)
        except OSError:  # buffer full, or an ICMP refusal from an earlier datagram: dropped
            pass

    def _replies(self) -> None:
        transport = self.listener.udp_transport
        recv, client = self.sock.recv, self.client
        for _ in range(_READ_BURST):
            try:
                data = recv(_MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:  # ConnectionRefused: the target port is closed; keep the flow, drop the datagram
                continue
            self.idle = 0
            if transport is not None:
                transport.sendto(data, client)
                if self.record is not None:
                    self.record.sent_bytes += len(data)

    def tick(self) -> bool:
        """One idle sweep: True once no datagram went either way for more than ``TICKS`` sweeps."""
        self.idle += 1
        return self.idle > TICKS

    def reset(self) -> None:
        """Forget the flow: the next datagram from this client starts a new one (and may pick a new target)."""
        if self.listener.udp_flows.get(self.client) is self:
            del self.listener.udp_flows[self.client]
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        untrack(self.target, self)
        record, recording = self.record, self.listener.recording
        if record is not None and recording is not None:  # (UDP has no resets: a flow just goes idle)
            self.record = None
            recording.report(record)


class UdpListener(asyncio.DatagramProtocol):
    """The listener socket's protocol: every datagram goes to its client's flow."""

    def __init__(self, listener: UdpFlowListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        flows = self.listener.udp_flows
        flow = flows.get(addr)
        if flow is None:
            flow = self.open(addr, None)
            if flow is None:
                return
        flow.send(data)

    def open(self, addr: tuple, chosen: tuple[TargetGroupRuntime, Target] | None) -> UdpFlow | None:
        """A new flow from ``addr``, to ``chosen`` (group, target) or else where the listener's flow hash says;
        None when it is refused, or nothing is routable (the datagram is then dropped)."""
        listener = self.listener
        route = listener.route
        client = (addr[0], addr[1])
        if not listener.admit("udp", client[0], len(listener.udp_flows)):  # refused or at the cap: dropped
            return None
        if chosen is None:
            chosen = listener.choose(route, "UDP", client)
            if chosen is None:  # nothing routable: the datagram is dropped
                return None
        group, target = chosen
        header = proxy_header(client, listener.address, datagram=True) if group.settings.proxy_protocol_v2 else b""
        try:
            flow = UdpFlow(listener, client, target, header)
        except OSError:
            return None
        listener.udp_flows[addr] = flow
        recording = listener.recording
        if recording is not None:
            record = flow.record = recording.start("UDP", client)
            record.target_group_arn, record.target_ip, record.target_port = group.arn, target.host, target.port
        return flow

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP errors for replies to vanished clients: nothing to do
