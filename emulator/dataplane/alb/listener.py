"""The ALB listener runtime: binds the socket, owns the client connections and the upstream pools, and holds
the compiled ``state.ListenerState`` that ``update`` swaps in one assignment (a request sees old or new, never
a mix). It is the ``state.Listener`` its client connections see."""

from __future__ import annotations

import asyncio
import logging
import socket

import emulator.dataplane.alb.client_records as client_records
from emulator.dataplane.addresses import TCP, ListenerAddress, bind_listener
from emulator.dataplane.alb.alpn import AlpnSwitch, with_alpn
from emulator.dataplane.alb.http1.connection import ClientConnection
from emulator.dataplane.alb.state import Client, ListenerState
from emulator.dataplane.alb.upstream.http1 import UpstreamPool
from emulator.dataplane.alb.upstream.http2 import H2UpstreamPool
from emulator.dataplane.connection_cap import max_client_connections
from emulator.dataplane.runtime import Collaborators, ListenerConfig
from emulator.dataplane.tls.termination import TlsTerminator, certificate_arns

log = logging.getLogger("elbv2_emulator.dataplane")


def _adopted(task: asyncio.Task[tuple[asyncio.BaseTransport, asyncio.BaseProtocol]]) -> None:
    if not task.cancelled() and task.exception() is not None:  # the client went away meanwhile
        log.info("a connection handed over by the API port could not be served: %s", task.exception())


class AlbListener:
    def __init__(self, config: ListenerConfig, collaborators: Collaborators) -> None:
        self.collaborators = collaborators
        self.loop = asyncio.get_event_loop()
        self.state = ListenerState(config, collaborators.observer, collaborators.lambdas)
        self.config = config
        self.clients: set[Client] = set()
        self.max_clients = max_client_connections()
        self._refusing = False  # at the cap (logged once each time it is reached)
        self.pool = UpstreamPool(self.loop, self.state.target_tls)
        self.h2_pool = H2UpstreamPool(self.loop, self.state.target_tls)  # HTTP2/GRPC target groups
        self.tls: TlsTerminator | None = None
        self._server: asyncio.AbstractServer | None = None
        self._bound = ListenerAddress(f"{config.bind_host}:{config.bind_port}")
        self._ticker: asyncio.TimerHandle | None = None

    @property
    def bound(self) -> ListenerAddress:
        return self._bound

    async def start(self) -> None:
        if self.state.protocol == "HTTPS":
            self.tls = TlsTerminator(observed=self.collaborators.observer is not None)
            prepare = with_alpn(self.state.client_tls.prepare, self.state.http2)
            self.tls.configure(certificate_arns(self.config.listener), self.config.listener.SslPolicy,
                               self.collaborators.certificates, prepare)
        ssl_context = self.tls.context if self.tls is not None else None

        protocol: type[AlpnSwitch | ClientConnection] = AlpnSwitch if ssl_context is not None else ClientConnection
        [sock], bound = bind_listener(self.config.bind_host, self.config.bind_port, (TCP,), self.config.may_remap, 1024)
        try:
            self._server = await self.loop.create_server(lambda: protocol(self), sock=sock, ssl=ssl_context,
                                                         backlog=1024)
        except BaseException:
            sock.close()
            raise
        self._bound = bound
        self._schedule_tick()

    def admit(self, client: Client, transport: asyncio.BaseTransport) -> bool:
        """Register a new client connection (HTTP/1.x or HTTP/2): its peer address, and the mTLS/TLS-info
        header lines it adds to every request. False, with the connection aborted, when the listener is at its
        connection cap (``connection_cap``), its security groups refuse the source (``admission``) or mTLS
        refuses it."""
        state = self.state
        recording = state.recording
        if len(self.clients) >= self.max_clients:
            if not self._refusing:
                log.warning("listener %s is at its cap of %d client connections: resetting new ones",
                            self.config.listener.ListenerArn, self.max_clients)
            self._refusing = True
            if recording is not None:
                client_records.rejected(recording, transport)
            client.closing = True
            _abort(transport)
            return False
        self._refusing = False
        peer = transport.get_extra_info("peername") or ("", 0)
        admission = state.admission
        if admission is not None and not admission.admits(peer[0]):  # the security groups refuse the source
            if recording is not None:
                client_records.rejected(recording, transport)
            client.closing = True
            _abort(transport)
            return False
        client.peer, client.peer_port = peer[0], peer[1]
        self.clients.add(client)
        headers = state.client_tls.headers(transport.get_extra_info("ssl_object")) if self.tls else []
        if headers is None:  # mTLS verify: the client certificate is revoked
            if recording is not None:
                client_records.opened(recording, transport, self.tls, state.client_tls.mode, client_records.REVOKED)
            client.closing = True
            _abort(transport)
            return False
        client.tls_headers = headers
        if recording is not None:
            client.observed = client_records.opened(recording, transport, self.tls, state.client_tls.mode)
        return True

    def update(self, config: ListenerConfig) -> None:
        try:
            state = ListenerState(config, self.collaborators.observer, self.collaborators.lambdas)
        except Exception:  # keep serving the last good configuration rather than none
            log.exception("cannot compile listener %s", config.listener.ListenerArn)
            return
        if self.tls is not None and (
            config.listener.Certificates != self.config.listener.Certificates
            or config.listener.extra_certificates != self.config.listener.extra_certificates
            or config.listener.SslPolicy != self.config.listener.SslPolicy
            or state.client_tls.ca_bundle != self.state.client_tls.ca_bundle
            or state.http2 != self.state.http2
        ):
            prepare = with_alpn(state.client_tls.prepare, state.http2)
            self.tls.configure(certificate_arns(config.listener), config.listener.SslPolicy,
                               self.collaborators.certificates, prepare)
        self.pool.use_tls(state.target_tls)
        self.h2_pool.use_tls(state.target_tls)
        self.config, self.state = config, state

    def adopt(self, sock: socket.socket) -> None:
        """Serve a client connection the API port accepted (its Host named this load balancer) as if this
        listener had accepted it: same admission, rules and headers; the client's address is the socket's
        peer. Plain HTTP listeners only: the API port speaks no TLS."""
        if self._server is None or not self._server.is_serving() or self.state.protocol != "HTTP":
            sock.close()
            return
        task = self.loop.create_task(self.loop.connect_accepted_socket(lambda: ClientConnection(self), sock))
        task.add_done_callback(_adopted)

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self._server is not None:
            self._server.close()
        for client in list(self.clients):
            client.close()
        self.pool.close()
        self.h2_pool.close()
        if self._server is not None:
            await self._server.wait_closed()

    def _schedule_tick(self) -> None:
        interval = min(1.0, self.state.idle_timeout / 4)
        self._ticker = self.loop.call_later(interval, self._tick)

    def _tick(self) -> None:
        """Idle timeouts on client connections (408 / close), waiting exchanges (504) and pooled targets."""
        now, idle = self.loop.time(), self.state.idle_timeout
        for client in list(self.clients):
            client.tick(now, idle)
        self.pool.sweep(now, idle)
        self.h2_pool.sweep(now, idle)
        self._schedule_tick()


def _abort(transport: asyncio.BaseTransport) -> None:
    abort = getattr(transport, "abort", None)  # every stream transport has it; BaseTransport does not declare it
    if abort is not None:
        abort()
    else:
        transport.close()
