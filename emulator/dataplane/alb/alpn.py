"""ALPN on HTTPS listeners: ``h2`` first unless ``routing.http2.enabled`` is false ("Load balancer
attributes"), and the protocol factory that hands each connection to the HTTP/2 or the HTTP/1.1 side."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

from emulator.dataplane.alb.http1.connection import ClientConnection
from emulator.dataplane.alb.http2.client import H2ClientConnection
from emulator.dataplane.alb.state import Listener


def alpn_protocols(http2_enabled: bool) -> tuple[str, ...]:
    return ("h2", "http/1.1") if http2_enabled else ("http/1.1",)


class AlpnSwitch(asyncio.Protocol):
    """An HTTPS listener's protocol factory: after the handshake, hand the transport to the HTTP/2 or the
    HTTP/1.1 side, whichever ALPN chose."""

    __slots__ = ("listener",)

    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        ssl_object = transport.get_extra_info("ssl_object")
        chosen = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        protocol: asyncio.Protocol
        protocol = H2ClientConnection(self.listener) if chosen == "h2" else ClientConnection(self.listener)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)


def with_alpn(prepare: Callable[[ssl.SSLContext], None], http2_enabled: bool) -> Callable[[ssl.SSLContext], None]:
    """A TLS context preparer that also offers the listener's ALPN protocols (every SNI context must:
    OpenSSL selects ALPN with the context the SNI callback switched to)."""
    protocols = list(alpn_protocols(http2_enabled))

    def prepare_with_alpn(context: ssl.SSLContext) -> None:
        prepare(context)
        context.set_alpn_protocols(protocols)

    return prepare_with_alpn
