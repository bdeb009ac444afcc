"""One TCP (or TLS-terminated) flow: a pair of asyncio Protocols that forward bytes to each other.

Bytes are written straight from ``data_received`` to the other leg's transport. Backpressure crosses over:
when one leg's write buffer passes its high-water mark, ``pause_writing`` pauses reading on the other leg,
so a slow reader never makes the proxy buffer more than a transport's write-buffer limit. A half-close
(EOF) is passed on with ``write_eof``; both legs close once both directions have seen EOF. A flow that is
reset (target refused, idle timeout, termination on deregistration or unhealthiness) closes both legs
with SO_LINGER 0, so each peer sees a TCP RST, as the NLB sends.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from typing import Protocol, cast

from api_models.observations import FlowRecord
from emulator.dataplane.nlb.idle import TICKS
from emulator.dataplane.nlb.proxy_protocol import header as proxy_header
from emulator.dataplane.nlb.recording import FlowRecording
from emulator.dataplane.nlb.route import Route
from emulator.dataplane.nlb.tracking import track, untrack
from emulator.dataplane.selection.group import Target, TargetGroupRuntime

_LINGER_ZERO = struct.pack("ii", 1, 0)


class TcpListener(Protocol):
    """What a TCP flow needs of its listener (``NlbListener``)."""

    route: Route  # read when the flow starts: later updates leave the flow's group and target alone
    address: tuple[str, int]  # (ip, port) the listener is bound to: a PROXY header's destination
    tcp_flows: set[TcpFlow]  # the listener's open flows: a flow adds itself, and leaves when done
    recording: FlowRecording | None  # where flows are reported (None: traffic is not observed)

    def choose(self, route: Route, protocol: str, client: tuple[str, int]) -> tuple[TargetGroupRuntime, Target] | None: ...
    def admit(self, transport: str, source: str, open_flows: int) -> bool: ...  # False: refused, or at the cap


def reset_transport(transport: asyncio.Transport | None) -> None:
    """Close with RST (SO_LINGER 0) instead of FIN; unsent data is dropped."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        except OSError:
            pass
    transport.abort()


class Leg(asyncio.Protocol):
    """One side of a flow. ``peer`` is the other side (``out`` its transport); ``flow`` the shared state."""

    __slots__ = ("transport", "peer", "out", "flow", "eof", "active", "throttled")
    # Set before the first byte can flow: by the flow (the target leg) or once the target is up (the client leg).
    peer: Leg
    out: asyncio.Transport
    flow: TcpFlow

    def __init__(self, flow: TcpFlow) -> None:
        self.flow = flow
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # None until connection_made
        self.eof = False
        self.active = False  # saw bytes since the last idle sweep
        self.throttled = False  # our write buffer is past its high-water mark: the peer must not read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream connection's transport

    def data_received(self, data: bytes) -> None:  # the hot path: two attribute stores and a write
        self.active = True
        self.out.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer.transport
        if self.peer.eof or not peer.can_write_eof():  # a TLS leg cannot half-close: finish the flow
            self.flow.finish()
            return True
        peer.write_eof()
        return True  # keep our write side open: the other direction may still be sending

    def pause_writing(self) -> None:
        self.throttled = True
        self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        self.throttled = False
        self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.flow.lost(exc)
        # A flow and its legs refer to each other. A lost leg gets no more events, so it drops its links:
        # once both legs are lost, reference counting frees the flow at once instead of the cyclic GC.
        for link in ("flow", "peer", "out"):
            if hasattr(self, link):  # (``peer`` and ``out`` are unset while the target was never connected)
                delattr(self, link)


class ClientLeg(Leg):
    """The accepted connection; it starts the flow (choose a target, connect) once accepted.

    Reading is paused until the target leg is up. uvloop starts reading after ``connection_made`` even
    when it paused reading there, so the first read (or EOF) may still arrive: it waits in ``pending``,
    reading pauses again, and ``pending`` is written once the target is connected. So a target that is
    slow to accept holds at most one read in the proxy; the rest stays in the kernel, and the client blocks.
    """

    __slots__ = ("listener", "pending")

    def __init__(self, listener: TcpListener) -> None:
        super().__init__(TcpFlow(listener, self))
        self.listener = listener
        self.pending: list[bytes] | None = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.flow.begin()

    def data_received(self, data: bytes) -> None:
        if self.pending is None:
            self.active = True
            self.out.write(data)
        else:
            self.pending.append(data)
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        if self.pending is None:
            return super().eof_received()
        self.eof = True
        return True

    def connected(self, upstream: Leg) -> None:
        """The target leg is up: flush what arrived meanwhile and start forwarding."""
        self.peer, self.out = upstream, upstream.transport
        pending, self.pending = self.pending or [], None
        for data in pending:
            upstream.transport.write(data)
        if self.eof:
            self.eof = False
            self.eof_received()
        elif not upstream.throttled:  # else flushing ``pending`` filled the buffer: resume_writing resumes us
            self.transport.resume_reading()


class ObservedLeg(Leg):
    """The target leg of an observed flow: counts what the target sends, notes a reset by the target."""

    __slots__ = ()

    def data_received(self, data: bytes) -> None:
        self.active = True
        record = self.flow.record
        if record is not None:
            record.sent_bytes += len(data)
        self.out.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        record = self.flow.record
        if exc is not None and record is not None and not record.client_reset:
            record.target_reset = True
        super().connection_lost(exc)


class ObservedClientLeg(ClientLeg):
    """The client leg of an observed flow: counts what the client sends, notes a reset by the client."""

    __slots__ = ()

    def data_received(self, data: bytes) -> None:
        record = self.flow.record
        if record is not None:
            record.received_bytes += len(data)
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        record = self.flow.record
        if exc is not None and record is not None and not record.target_reset:
            record.client_reset = True
        super().connection_lost(exc)


class TcpFlow:
    __slots__ = ("listener", "client", "upstream", "target", "idle", "connecting", "done", "record")

    def __init__(self, listener: TcpListener, client: ClientLeg) -> None:
        self.listener = listener
        self.client = client
        self.upstream: Leg | None = None
        self.target: Target | None = None
        self.idle = 0  # idle sweeps without a byte either way (see idle.py)
        self.connecting: asyncio.Future | None = None
        self.done = False
        self.record: FlowRecord | None = None  # (observed listeners only)

    def begin(self) -> None:
        """The client's connection is accepted: choose a target and connect to it."""
        transport = self.client.transport
        route, (peer_host, peer_port) = self.listener.route, transport.get_extra_info("peername")[:2]
        recording = self.listener.recording
        record = self.record = (recording.start("TCP", (peer_host, peer_port), transport)
                                if recording is not None else None)
        admitted = self.listener.admit("tcp", peer_host, len(self.listener.tcp_flows))
        chosen = self.listener.choose(route, "TCP", (peer_host, peer_port)) if admitted else None
        if chosen is None:  # refused, at the cap, or no routable target (AWS does not serve it): RST at once
            self.done = True
            reset_transport(transport)
            if record is not None and recording is not None:
                record.elb_reset = True
                self.record = None
                recording.report(record)
            return
        transport.pause_reading()  # hold the client's bytes in the kernel until the target leg is up
        group, target = chosen
        self.target = target
        if record is not None:
            record.target_group_arn, record.target_ip, record.target_port = group.arn, target.host, target.port
        track(target, self)
        self.listener.tcp_flows.add(self)
        proxy_v2 = group.settings.proxy_protocol_v2
        header = proxy_header((peer_host, peer_port), self.listener.address) if proxy_v2 else b""
        self.connecting = asyncio.ensure_future(self._connect(target, header, route.upstream_tls(group)))

    async def _connect(self, target: Target, header: bytes, tls: ssl.SSLContext | None) -> None:
        # The target may speak first (before this coroutine resumes), so its leg knows its peer already.
        upstream = self.upstream = (Leg if self.record is None else ObservedLeg)(self)
        upstream.peer, upstream.out = self.client, self.client.transport
        self.client.peer = upstream  # the client leg may be throttled before it is connected(): see pause_writing
        loop = asyncio.get_running_loop()
        try:
            if header:  # the PROXY header precedes the TLS handshake (AWS NLB guide)
                transport, _ = await loop.create_connection(lambda: upstream, target.host, target.port)
                transport.write(header)
                if tls is not None:
                    secured = await loop.start_tls(transport, upstream, tls)
                    if secured is None:
                        raise OSError("TLS to the target did not start")
                    upstream.transport = secured
            else:
                await loop.create_connection(lambda: upstream, target.host, target.port, ssl=tls)
        except (TimeoutError, OSError):
            self.connecting = None
            if self.record is not None:
                self.record.target_reset = True  # (a refused SYN: the target's RST, passed on to the client)
            self.reset()  # the target refused or is unreachable: the client sees a reset
            return
        self.connecting = None
        if self.done:
            reset_transport(upstream.transport)
            return
        self.client.connected(upstream)

    def tick(self) -> bool:
        """One idle sweep: True once the flow has been silent for at least ``TICKS`` sweep periods.

        Activity is seen at the first sweep after it, so ``TICKS`` more sweeps mean that much silence."""
        client, upstream = self.client, self.upstream
        if client.active or (upstream is not None and upstream.active):
            client.active = False
            if upstream is not None:
                upstream.active = False
            self.idle = 0
            return False
        self.idle += 1
        return self.idle >= TICKS

    def finish(self) -> None:
        """Both directions are done: close both legs gracefully (pending bytes are still flushed)."""
        for leg in (self.client, self.upstream):
            if leg is not None and leg.transport is not None:
                leg.transport.close()

    def reset(self) -> None:
        record = self.record
        if record is not None and not (record.client_reset or record.target_reset):
            record.elb_reset = True  # idle timeout, deregistration, the listener closing
        if self.connecting is not None:
            self.connecting.cancel()
        reset_transport(self.client.transport)
        if self.upstream is not None:
            reset_transport(self.upstream.transport)
        self._forget()

    def lost(self, exc: Exception | None) -> None:
        """Either leg is gone: a clean close closes the other leg, an error resets it."""
        if self.done:
            return
        if self.connecting is not None:
            self.connecting.cancel()
        for leg in (self.client, self.upstream):
            if leg is not None and leg.transport is not None and not leg.transport.is_closing():
                if exc is None:
                    leg.transport.close()
                else:
                    reset_transport(leg.transport)
        self._forget()

    def _forget(self) -> None:
        self.done = True
        record, recording = self.record, self.listener.recording
        if record is not None and recording is not None:
            self.record = None
            recording.report(record)
        if self.target is not None:
            untrack(self.target, self)
        self.listener.tcp_flows.discard(self)
