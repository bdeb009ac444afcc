"""What the listener does with a parsed request: route it, answer it locally or relay it to a target.

Functions over (ClientConnection, Exchange) so the protocol class stays about bytes and timing while the
AWS semantics (checklists 4.3, 5.2-5.4) live here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from emulator.dataplane.alb.actions import FixedResponse, Redirect
from emulator.dataplane.alb.auth import CALLBACK_PATH, Answer, Authenticate, authenticator_for
from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.jwks import JwksError
from emulator.dataplane.alb.jwt_validation import JWKS_ERROR, NEED_KEYS, UNAUTHORIZED, JwtValidation
from emulator.dataplane.alb.protocol_version import H2_VERSIONS, PROTOCOL_MISMATCH, mismatch
from emulator.dataplane.alb.responses import CONTINUE, lb_response
from emulator.dataplane.alb.upstream import PoolKey, UpstreamConnection
from emulator.dataplane.selection.forward import Forward

if TYPE_CHECKING:
    from emulator.dataplane.alb.connection import ClientConnection

# Connection-scoped response headers the LB does not pass on (it frames the client leg itself).
_HOP = frozenset((b"connection", b"keep-alive", b"transfer-encoding", b"proxy-connection", b"upgrade"))
_KEEP_ALIVE = b"connection: keep-alive\r\n\r\n"


def dispatch(conn: ClientConnection, exchange: Exchange) -> None:
    state = conn.listener.state
    request = exchange.request
    if request.method == "TRACE":
        conn.respond(exchange, lb_response(405, exchange.keep_alive))  # AWS: TRACE -> 405
        return
    if state.authenticators and request.path == CALLBACK_PATH:
        _complete_login(conn, exchange, state.authenticators)
        return
    action, transform = state.table.route(request)
    if transform is not None:
        transform.apply(request)
    claims = b""
    if isinstance(action, Authenticate):
        try:
            claims = action.check(request, exchange.keep_alive)
        except Answer as answer:  # 401, or 302 to the IdP
            conn.respond(exchange, answer.response)
            return
        action = action.terminal
    elif isinstance(action, JwtValidation):
        status = action.check(request)
        if status == NEED_KEYS:
            _run_async(conn, _validate_after_fetch(conn, exchange, action))
            return
        if status:
            conn.respond(exchange, lb_response(status, exchange.keep_alive))
            return
        action = action.terminal
    _run(conn, exchange, action, claims)


def _run(conn: ClientConnection, exchange: Exchange, action: object, claims: bytes) -> None:
    """The terminal action (after any authentication)."""
    state, request = conn.listener.state, exchange.request
    if isinstance(action, Forward):
        _forward(conn, exchange, action, claims)
    elif isinstance(action, FixedResponse):
        conn.respond(exchange, action.keep_alive if exchange.keep_alive else action.close)
    elif isinstance(action, Redirect):
        conn.respond(exchange, action.response(request, state.protocol, state.port, exchange.keep_alive))
    else:
        conn.respond(exchange, lb_response(503, exchange.keep_alive))


_background: set[asyncio.Task[None]] = set()  # running code exchanges and JWKS waits (the loop keeps weak refs)


def _run_async(conn: ClientConnection, coroutine: Coroutine[Any, Any, None]) -> None:
    task = conn.loop.create_task(coroutine)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _validate_after_fetch(conn: ClientConnection, exchange: Exchange, action: JwtValidation) -> None:
    """The request waits (at most the JWKS timeout) for its endpoint's keys, then is checked again."""
    try:
        await action.jwks.refresh()
        status = action.check(exchange.request)
    except JwksError:
        status = JWKS_ERROR
    if conn.active is not exchange or conn.closing:
        return
    if status:
        conn.respond(exchange, lb_response(UNAUTHORIZED if status == NEED_KEYS else status, exchange.keep_alive))
    else:
        _run(conn, exchange, action.terminal, b"")


def _complete_login(conn: ClientConnection, exchange: Exchange, candidates: list[Authenticate]) -> None:
    auth = authenticator_for(exchange.request, candidates)
    if auth is None:
        conn.respond(exchange, lb_response(401, exchange.keep_alive))
        return

    async def login() -> None:
        response = await auth.complete_login(exchange.request, exchange.keep_alive)
        if conn.active is exchange and not conn.closing:
            conn.respond(exchange, response)

    _run_async(conn, login())


def _forward(conn: ClientConnection, exchange: Exchange, action: Forward, claims: bytes = b"") -> None:
    """``claims``: header lines from an authenticate action (x-amzn-oidc-*)."""
    request = exchange.request
    selection = action.select(request)
    group = selection.group
    if group is None or group.group.TargetType == "lambda":
        # Invoking Lambda would need moto's Docker-backed Lambda; ALB answers a failed Lambda with 502.
        conn.respond(exchange, lb_response(502, exchange.keep_alive))
        return
    version = group.group.ProtocolVersion
    if (request.http2 or version in H2_VERSIONS) and mismatch(request, version):
        conn.respond(exchange, lb_response(PROTOCOL_MISMATCH, exchange.keep_alive))
        return
    target = selection.target
    if target is None:
        conn.respond(exchange, lb_response(503, exchange.keep_alive))  # AWS: no registered targets -> 503
        return
    head = conn.listener.state.policy.build(request, exchange.chunked, exchange.upgrade, conn.tls_headers + claims)
    if isinstance(head, int):
        conn.respond(exchange, lb_response(head, exchange.keep_alive))
        return
    if exchange.ambiguous and head.endswith(_KEEP_ALIVE):  # desync: the target connection is not reused either
        head[-len(_KEEP_ALIVE):] = b"connection: close\r\n\r\n"
    exchange.target, exchange.group, exchange.sticky = target, group, selection
    exchange.cookies = _set_cookie_lines(selection.set_cookies)
    target.outstanding += 1
    conn.upstream_active = conn.loop.time()
    key: PoolKey = (target.host, target.port, group.group.Protocol == "HTTPS")
    if version in H2_VERSIONS:  # only HTTP/2 streams (http2.Stream) get here: HTTP/1.1 requests got 464
        conn.forward_h2(exchange, key, head)  # type: ignore[attr-defined]
        return
    upstream = conn.listener.pool.acquire(key)
    if upstream is not None:
        _attach(conn, exchange, upstream, head)
    else:
        conn.loop.create_task(_connect(conn, exchange, key, head))


async def _connect(conn: ClientConnection, exchange: Exchange, key: PoolKey, head: bytearray) -> None:
    try:
        upstream = await conn.listener.pool.connect(key)
    except asyncio.TimeoutError:
        status = 504  # AWS: connection to the target not established within 10 s
    except OSError:
        status = 502  # refused or reset
    else:
        if conn.closing or conn.active is not exchange:
            conn.listener.pool.release(upstream)
        else:
            _attach(conn, exchange, upstream, head)
        return
    if conn.active is exchange and not conn.closing:
        exchange.keep_alive = False
        conn.fail(status)


def _attach(conn: ClientConnection, exchange: Exchange, upstream: UpstreamConnection, head: bytearray) -> None:
    upstream.owner = conn
    upstream.skip_body = exchange.head_only
    if conn.write_paused:
        upstream.transport.pause_reading()  # type: ignore[union-attr]
    exchange.upstream = upstream
    if exchange.expect and not exchange.request_done:
        conn.send(CONTINUE)  # the target is ready for the body (the LB answers 100-continue)
    pending, exchange.body = exchange.body, None
    transport = upstream.transport
    if pending:
        if exchange.chunked and exchange.upgrade is None:
            for chunk in pending:
                head += b"%x\r\n" % len(chunk)
                head += chunk
                head += b"\r\n"
        else:
            for chunk in pending:
                head += chunk
    if exchange.request_done and exchange.chunked:
        head += b"0\r\n\r\n"
    transport.write(head)  # type: ignore[union-attr]


def send_body(exchange: Exchange, upstream: UpstreamConnection, body: bytes) -> None:
    if exchange.chunked:
        upstream.transport.writelines((b"%x\r\n" % len(body), body, b"\r\n"))  # type: ignore[union-attr]
    else:
        upstream.transport.write(body)  # type: ignore[union-attr]


def response_head(
    conn: ClientConnection, exchange: Exchange, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    """Relay the target's response head, framing the client leg and adding the LB's cookies."""
    exchange.response_started = True
    out = bytearray(b"HTTP/1.1 %d " % status)
    out += reason
    out += b"\r\n"
    has_length = chunked = False
    target_cookies: list[bytes] | None = None  # the target's Set-Cookie values (for app_cookie stickiness)
    responses = conn.listener.state.responses
    replaced = responses.names  # injected response headers replace the target's own
    for name, value in headers:
        if name in _HOP:
            if status == 101 and name in (b"connection", b"upgrade"):
                out += name + b": " + value + b"\r\n"
            chunked = chunked or name == b"transfer-encoding"
            continue
        if name == b"content-length":
            has_length = True
        elif replaced and name in replaced:
            continue
        elif name == b"set-cookie":
            if target_cookies is None:
                target_cookies = [value]
            else:
                target_cookies.append(value)
        out += name
        out += b": "
        out += value
        out += b"\r\n"
    out += responses.lines
    out += exchange.cookies
    if target_cookies is not None and exchange.sticky is not None:
        out += _set_cookie_lines(exchange.sticky.response_cookies(target_cookies))
    if status == 101:
        conn.send(out + b"\r\n")
        return
    no_body = exchange.head_only or status in (204, 304)
    if not no_body and not has_length:
        if exchange.http10:
            exchange.keep_alive = False  # HTTP/1.0 has no chunking: the body ends when the connection does
        else:
            exchange.response_chunked = True
            out += b"transfer-encoding: chunked\r\n"
        if not chunked and exchange.upstream is not None:
            exchange.upstream.until_close = True
    if exchange.keep_alive and conn.listener.state.past_lifetime(conn.created, conn.loop.time()):
        exchange.keep_alive = False  # client_keep_alive.seconds reached: close after this response
    out += b"connection: keep-alive\r\n\r\n" if exchange.keep_alive else b"connection: close\r\n\r\n"
    conn.send(out)


def _set_cookie_lines(values: list[bytes]) -> bytes:
    """Set-Cookie header lines for the values a ``Selection`` gives."""
    return b"".join([b"Set-Cookie: " + value + b"\r\n" for value in values]) if values else b""


def abandon(exchange: Exchange) -> None:
    """Release what an exchange holds (its target's outstanding count; an unfinished upstream)."""
    if exchange.target is not None:
        exchange.target.outstanding -= 1
        exchange.target = None
    if exchange.upstream is not None:
        exchange.upstream.close()
        exchange.upstream = None
