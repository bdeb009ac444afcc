"""The contract between the reconciler and the protocol engines (ALB in ``alb/``, NLB in ``nlb/``).

The reconciler (``engine``) builds a ``ListenerConfig`` per listener from the store and hands it to a
``ListenerRuntime`` made by the factory registered for the listener's protocol (``register_runtime``):

- ``start`` binds (raising OSError, with nothing left open, when it cannot; the engine reports the listener
  failed and retries at its next pass);
- ``update`` swaps the routing of a running listener atomically (a request or flow sees the old config or
  the new one), called whenever ``ListenerConfig.binding`` is unchanged;
- ``close`` releases everything; a changed ``binding`` means ``close`` and a new runtime;
- ``bound`` says where it accepts traffic, read from any thread.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from api_models.lambda_invocation import LambdaInvoker
from api_models.observations import Observer
from api_models.resources import Listener, LoadBalancer, Rule
from api_models.security_groups import SecurityGroupSource, SecurityGroupView
from api_models.trust_stores import TrustStore
from api_models.web_acls import WebAclSource, WebAclView
from emulator.dataplane.addresses import ListenerAddress
from emulator.dataplane.selection.group import InstanceAddress, TargetGroupRuntime
from emulator.store.target_health import TargetHealthBoard
from emulator.timing import Timing

# (certificate ARN) -> (certificate PEM, private key PEM, chain PEM or None), or None when unknown.
CertificateSource = Callable[[str], "tuple[str, str, str | None] | None"]


@dataclass(frozen=True, slots=True)
class Collaborators:
    """Process-wide services a runtime may use; injected so the data plane imports no control code."""

    timing: Timing
    health: TargetHealthBoard
    certificates: CertificateSource
    instance_address: InstanceAddress
    # The inbound rules of load balancers' security groups; None: security groups are not enforced.
    security_groups: SecurityGroupSource | None = None
    # The web ACLs (WAFv2) associated with load balancers; None: web ACLs are not enforced.
    web_acls: WebAclSource | None = None
    # Where traffic is reported (access logs, metrics, the dashboard); None: nothing is recorded.
    observer: Observer | None = None
    # What invokes the functions of ``lambda`` target groups (the local runtime); None: those groups answer 502.
    lambdas: LambdaInvoker | None = None


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    listener: Listener
    load_balancer: LoadBalancer
    rules: tuple[Rule, ...]  # evaluation order: ascending priority, the default rule last
    target_groups: Mapping[str, TargetGroupRuntime]  # every group this listener's actions forward to
    # Where to bind: the LB's own loopback address, or the server's --listen-host (e.g. 0.0.0.0 in a container).
    bind_host: str
    # The trust store named by MutualAuthentication.TrustStoreArn (mTLS verify mode), else None.
    trust_store: TrustStore | None = None
    # False with --listen-host: the listener binds exactly bind_host:Port or not at all (see addresses.py).
    may_remap: bool = True
    # The load balancer's security groups, enforced on new connections and flows (``admission``); None: every
    # source is admitted (an NLB without security groups, or enforcement turned off).
    security_groups: SecurityGroupView | None = None
    # The web ACL associated with the load balancer (AssociateWebACL), evaluated for every request (ALB only).
    web_acl: WebAclView | None = None
    # With --listener-ports: the port of that range the listener binds instead of its own (``published_ports``).
    published_port: int | None = None

    @property
    def bind_port(self) -> int:
        return self.published_port or self.listener.Port or 0

    @property
    def binding(self) -> tuple[str, int, str, str, bool]:
        """What a socket is bound to: (host, port, protocol, mTLS mode, ignore expiry). A change here means
        re-binding: OpenSSL takes a connection's client-certificate checks from the listening SSL context."""
        mutual = self.listener.MutualAuthentication or {}
        return (
            self.bind_host, self.bind_port, self.listener.Protocol or "",
            mutual.get("Mode") or "off", bool(mutual.get("IgnoreClientCertificateExpiry")),
        )


class ListenerRuntime(Protocol):
    async def start(self) -> None: ...

    def update(self, config: ListenerConfig) -> None: ...

    async def close(self) -> None: ...

    @property
    def bound(self) -> ListenerAddress:
        """Where the listener actually accepts traffic (after any remap), or why it could not start; read by
        ``GET /_emulator/listeners`` from any thread."""
        ...


@runtime_checkable
class AdoptsConnections(Protocol):
    """A runtime that can serve a client connection accepted elsewhere: the API port hands over connections
    whose Host names a load balancer (README "Reaching listeners through the API port")."""

    def adopt(self, sock: socket.socket) -> None: ...  # called on the data plane's loop; the runtime owns sock


RuntimeFactory = Callable[[ListenerConfig, Collaborators], ListenerRuntime]
RUNTIMES: dict[str, RuntimeFactory] = {}


def register_runtime(*protocols: str) -> Callable[[RuntimeFactory], RuntimeFactory]:
    """Declare the factory that serves listeners of the given protocols (e.g. ``"HTTP", "HTTPS"``)."""

    def register(factory: RuntimeFactory) -> RuntimeFactory:
        for name in protocols:
            RUNTIMES[name] = factory
        return factory

    return register
