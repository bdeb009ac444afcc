"""The runtime of one NLB listener: TCP, TLS, UDP, TCP_UDP (both on one port), QUIC or TCP_QUIC (likewise).

``start`` binds (with the documented remap; TCP_UDP both halves on one port or neither), ``update`` swaps
the ``Route`` new flows use (its compiled rules and weights; existing flows keep their group and target for
life, as on AWS) and resets flows of targets that left a group when
``deregistration_delay.connection_termination.enabled`` says so; ``close`` resets every flow.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from emulator.dataplane.addresses import TCP, ListenerAddress, bind_listener, transports
from emulator.dataplane.admission import SourceFilter
from emulator.dataplane.connection_cap import max_client_connections
from emulator.dataplane.nlb.idle import IdleSweeper
from emulator.dataplane.nlb.quic import QuicListener
from emulator.dataplane.nlb.recording import FlowRecording
from emulator.dataplane.nlb.route import Route
from emulator.dataplane.nlb.tcp import ClientLeg, ObservedClientLeg, TcpFlow
from emulator.dataplane.nlb.tls import configure_tls
from emulator.dataplane.nlb.tracking import reset_target_flows
from emulator.dataplane.nlb.udp import UdpFlow, UdpListener
from emulator.dataplane.runtime import Collaborators, ListenerConfig
from emulator.dataplane.selection.flow_hash import flow_target
from emulator.dataplane.selection.group import Target, TargetGroupRuntime
from emulator.dataplane.tls.termination import TlsTerminator, certificate_arns

log = logging.getLogger("elbv2_emulator.dataplane")

_BACKLOG = 4096


class NlbListener:
    def __init__(self, config: ListenerConfig, collaborators: Collaborators) -> None:
        self.config = config
        self.collaborators = collaborators
        self.route = Route.of(config, collaborators.timing)
        self.admission = _admission(config)
        self.address: tuple[str, int] = (config.bind_host, config.bind_port)
        self.bound = ListenerAddress(f"{self.address[0]}:{self.address[1]}")
        self.tcp_flows: set[TcpFlow] = set()
        self.udp_flows: dict[tuple, UdpFlow] = {}
        self.udp_transport: asyncio.DatagramTransport | None = None
        observer = collaborators.observer  # flows are reported to it (None: nothing is recorded)
        self.recording = (FlowRecording(observer, config.load_balancer.LoadBalancerArn, config.listener.ListenerArn,
                                        config.listener.Port or 0) if observer is not None else None)
        # Each flow holds two descriptors (client and target sockets): TCP and UDP flows are capped apart.
        self.max_flows = max_client_connections()
        self._refusing = False  # at the cap (logged once each time it is reached)
        self._server: asyncio.AbstractServer | None = None
        self._known_targets = self._targets_of(self.route)
        self._tls_key = self._certificate_key(config)
        self._tls: TlsTerminator | None = None
        self._sweepers = [
            IdleSweeper(self.tcp_flows, lambda: self.route.tcp_idle),
            IdleSweeper(self.udp_flows.values(), lambda: self.route.udp_idle),
        ]

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind TCP and/or UDP on one port (TCP_UDP: both halves or neither), then serve them."""
        loop = asyncio.get_running_loop()
        tls = await self._load_tls() if self.config.listener.Protocol == "TLS" else None
        host, port = self.address
        sockets, self.bound = bind_listener(host, port, transports(self.config.listener.Protocol or "TCP"),
                                            self.config.may_remap, _BACKLOG)
        leg = ClientLeg if self.recording is None else ObservedClientLeg
        datagrams = QuicListener if self.config.listener.Protocol in ("QUIC", "TCP_QUIC") else UdpListener
        try:
            for sock in sockets:
                if sock.type == TCP:
                    self._server = await loop.create_server(lambda: leg(self), sock=sock, ssl=tls,
                                                            backlog=_BACKLOG)
                else:
                    self.udp_transport, _ = await loop.create_datagram_endpoint(lambda: datagrams(self), sock=sock)
        except BaseException:
            await self.close()
            for sock in sockets:  # those not yet handed to a server
                sock.close()
            raise
        bound_host, bound_port = sockets[0].getsockname()[:2]
        self.address = (bound_host, bound_port)
        for sweeper in self._sweepers:
            sweeper.start()

    def update(self, config: ListenerConfig) -> None:
        route, previous = Route.of(config, self.collaborators.timing), self.route
        self.config, self.route, self.admission = config, route, _admission(config)
        if route.tcp_idle != previous.tcp_idle or route.udp_idle != previous.udp_idle:
            for sweeper in self._sweepers:  # reschedule at the new period
                sweeper.stop()
                sweeper.start()
        self._terminate_departed(route)
        key = self._certificate_key(config)
        if self._tls is not None and key != self._tls_key:
            # In place, before the change is reported applied: the next handshake uses the new certificates.
            self._tls_key = key
            configure_tls(self._tls, config.listener, self.collaborators.certificates)

    async def close(self) -> None:
        for sweeper in self._sweepers:
            sweeper.stop()
        if self._server is not None:
            self._server.close()
        if self.udp_transport is not None:
            self.udp_transport.close()
        for flow in list(self.tcp_flows):
            flow.reset()
        for udp_flow in list(self.udp_flows.values()):
            udp_flow.reset()

    # -- flows ----------------------------------------------------------------------------------

    def admit(self, transport: str, source: str, open_flows: int) -> bool:
        """Whether a new flow of ``transport`` ("tcp" or "udp") from ``source`` may start: the security groups
        admit the source (``admission``) and the listener is below its cap (``connection_cap``). Refused TCP
        clients are reset and refused UDP datagrams dropped, while the open flows go on."""
        admission = self.admission.get(transport)
        if admission is not None and not admission.admits(source):
            return False
        if open_flows < self.max_flows:
            self._refusing = False
            return True
        if not self._refusing:
            log.warning("listener %s is at its cap of %d flows: refusing new ones",
                        self.config.listener.ListenerArn, self.max_flows)
        self._refusing = True
        return False

    def choose(self, route: Route, protocol: str, client: tuple[str, int]) -> tuple[TargetGroupRuntime, Target] | None:
        """The group (rules, then weights) and target (the flow hash; source_ip stickiness hashes the client's
        address only) of a new flow; None when no group or no routable target."""
        group = route.rules.group(client[0])
        if group is None:
            return None
        target = flow_target(group, protocol, client, self.address)
        return (group, target) if target is not None else None

    def _terminate_departed(self, route: Route) -> None:
        """Targets whose deregistration delay ended are gone from their group: reset their flows if enabled.
        Groups no longer forwarded to are left alone: their flows simply continue."""
        current, known = self._targets_of(route), self._known_targets
        self._known_targets = current
        for group in route.rules.groups:
            before = known.get(group)
            if before is None or not group.settings.terminate_on_deregistration:
                continue
            for target in before - current[group]:
                reset_target_flows(target)

    @staticmethod
    def _targets_of(route: Route) -> dict[TargetGroupRuntime, set[Target]]:
        return {group: set(group.targets.values()) for group in route.rules.groups}

    # -- TLS ------------------------------------------------------------------------------------

    @staticmethod
    def _certificate_key(config: ListenerConfig) -> tuple:
        listener = config.listener
        return (tuple(certificate_arns(listener)), tuple(listener.AlpnPolicy or ()), listener.SslPolicy or "")

    async def _load_tls(self) -> ssl.SSLContext:
        terminator = TlsTerminator(observed=self.recording is not None)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, configure_tls, terminator, self.config.listener, self.collaborators.certificates)
        if not terminator.loaded:  # the engine reports the listener failed and retries it
            raise OSError(f"TLS listener {self.config.listener.ListenerArn}: no loadable certificate")
        self._tls = terminator
        if self.recording is not None:
            self.recording.tls = terminator
        return terminator.context


def _admission(config: ListenerConfig) -> dict[str, SourceFilter]:
    """Per transport, the sources the load balancer's security groups admit; empty when it has none."""
    groups = config.security_groups
    if groups is None:
        return {}
    port, where = config.listener.Port or 0, config.listener.ListenerArn
    return {transport: SourceFilter(groups, transport, port, where) for transport in ("tcp", "udp")}
