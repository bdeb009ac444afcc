"""A listener's configuration compiled for requests (``ListenerState``), and what the client legs need of the
listener that owns them (``Listener``)."""

from __future__ import annotations

import asyncio
from typing import Protocol

from api_models.attribute_views import ListenerSettings, LoadBalancerSettings
from api_models.lambda_invocation import LambdaInvoker
from api_models.observations import Observer
from emulator.dataplane.admission import SourceFilter
from emulator.dataplane.alb.auth.authenticate import Authenticate
from emulator.dataplane.alb.auth.jwt_validation import JwtValidation
from emulator.dataplane.alb.chain.order import Chain
from emulator.dataplane.alb.chain.selection import may_set_cookies
from emulator.dataplane.alb.client_records import Observed
from emulator.dataplane.alb.headers.client_tls import ClientTls
from emulator.dataplane.alb.headers.forwarded import HeaderPolicy
from emulator.dataplane.alb.headers.response import ResponsePolicy
from emulator.dataplane.alb.heads import Headers
from emulator.dataplane.alb.recording import Recording
from emulator.dataplane.alb.routing.actions import compile_actions
from emulator.dataplane.alb.routing.rules import RuleTable, compile_rules
from emulator.dataplane.alb.upstream.http1 import UpstreamPool
from emulator.dataplane.alb.upstream.http2 import H2UpstreamPool
from emulator.dataplane.alb.waf.acl import compile_web_acl
from emulator.dataplane.runtime import ListenerConfig
from emulator.dataplane.tls.targets import backend_policy, target_tls


class ListenerState:
    """Everything a request needs from the configuration, compiled once per ``update``: attribute reads
    included (``api_models.attribute_views``)."""

    __slots__ = (
        "table", "policy", "protocol", "port", "idle_timeout", "lifetime", "client_tls", "responses", "chain",
        "authenticators", "http2", "admission", "recording", "target_tls",
    )

    def __init__(self, config: ListenerConfig, observer: Observer | None = None,
                 lambdas: LambdaInvoker | None = None) -> None:
        listener, balancer = config.listener, config.load_balancer
        settings = LoadBalancerSettings.of(balancer.attributes)
        listener_settings = ListenerSettings.of(listener.attributes)
        groups = dict(config.target_groups)
        self.protocol = listener.Protocol or "HTTP"
        self.port = listener.Port or 0
        signer = balancer.LoadBalancerArn
        default = compile_actions(list(listener.DefaultActions), groups, signer)
        self.table: RuleTable = compile_rules(
            config.rules, lambda actions: compile_actions(actions, groups, signer), default
        )
        compiled = [default, *(routed[0] for _, routed in self.table.entries)]
        self.authenticators = [a for a in compiled if isinstance(a, Authenticate)]  # for /oauth2/idpresponse
        self.client_tls = ClientTls(listener, config.trust_store, listener_settings, settings)
        self.responses = ResponsePolicy(listener_settings)
        self.policy = HeaderPolicy(self.protocol, self.port, balancer, settings, self.client_tls.request_names)
        self.idle_timeout = settings.idle_timeout_seconds
        self.lifetime = settings.client_keep_alive_seconds
        self.http2 = settings.http2_enabled  # routing.http2.enabled: ALPN offers h2
        # HTTPS targets' contexts: the back-end policy AWS derives from the listener's (``tls.targets``)
        self.target_tls = target_tls(backend_policy(listener.SslPolicy if self.protocol == "HTTPS" else None,
                                                    "application"))
        security_groups = config.security_groups  # connection admission: before any byte is read
        self.admission = (SourceFilter(security_groups, "tcp", self.port, listener.ListenerArn)
                          if security_groups is not None else None)
        # Where requests are reported (access logs, metrics, the dashboard); None: they are not recorded at all.
        self.recording = (Recording(observer, balancer.LoadBalancerArn, listener.ListenerArn, self.protocol, self.port,
                                    access_logs=balancer.attributes.get("access_logs.s3.enabled") == "true",
                                    connection_logs=balancer.attributes.get("connection_logs.s3.enabled") == "true")
                          if observer is not None else None)
        self.chain = Chain.compile(
            protocol=self.protocol, port=self.port, table=self.table, authenticators=self.authenticators,
            guarded=any(isinstance(a, (Authenticate, JwtValidation)) for a in compiled),
            cookies=any(may_set_cookies(a) for a in compiled),
            desync_mode=settings.desync_mitigation_mode, policy=self.policy, responses=self.responses,
            web_acl=(compile_web_acl(config.web_acl, balancer.attributes.get("waf.fail_open.enabled") == "true")
                     if config.web_acl is not None else None),
            lambdas=lambdas,
        )

    def past_lifetime(self, created: float, now: float) -> bool:
        """``client_keep_alive.seconds``: a client connection closes after its next response past this age."""
        return now - created >= self.lifetime


class Client(Protocol):
    """A client connection as the listener tracks it (HTTP/1.x or HTTP/2)."""

    closing: bool
    peer: str
    peer_port: int
    tls_headers: Headers
    observed: Observed | None  # its connection record and TLS session (observed listeners only)

    def close(self) -> None: ...
    def tick(self, now: float, idle_timeout: float) -> None: ...


class Listener(Protocol):
    """What client connections need of the listener that accepted them."""

    loop: asyncio.AbstractEventLoop
    state: ListenerState
    pool: UpstreamPool
    h2_pool: H2UpstreamPool
    clients: set[Client]

    def admit(self, client: Client, transport: asyncio.BaseTransport) -> bool: ...
