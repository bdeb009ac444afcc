"""The HTTP/1.1 client leg's serialisation: a target's response head framed for the client (Content-Length or
chunked, Connection), and LB-made responses (cached per configuration when they are shared)."""

from __future__ import annotations

from emulator.dataplane.alb.exchange import Exchange
from emulator.dataplane.alb.headers.response import ResponsePolicy
from emulator.dataplane.alb.heads import Headers
from emulator.dataplane.alb.responses import LocalResponse

# Connection-scoped response headers the LB does not pass on (it frames the client leg itself).
_HOP = frozenset((b"connection", b"keep-alive", b"transfer-encoding", b"proxy-connection", b"upgrade"))


def response_head(exchange: Exchange, status: int, reason: bytes, headers: Headers, keep_alive_allowed: bool) -> bytearray:
    """The head for the client; decides ``exchange.response_chunked`` and ``keep_alive``, and marks a
    length-less target body as ending when the target closes. ``keep_alive_allowed``: false once the client
    connection is past ``client_keep_alive.seconds``."""
    out = bytearray(b"HTTP/1.1 %d " % status)
    out += reason
    out += b"\r\n"
    has_length = chunked = False
    for name, value in headers:
        if name in _HOP:
            if status == 101 and name in (b"connection", b"upgrade"):
                out += name + b": " + value + b"\r\n"
            chunked = chunked or name == b"transfer-encoding"
            continue
        if name == b"content-length":
            has_length = True
        out += name
        out += b": "
        out += value
        out += b"\r\n"
    if status == 101:
        out += b"\r\n"
        return out
    no_body = exchange.head_only or status in (204, 304)
    if not no_body and not has_length:
        if exchange.http10:
            exchange.keep_alive = False  # HTTP/1.0 has no chunking: the body ends when the connection does
        else:
            exchange.response_chunked = True
            out += b"transfer-encoding: chunked\r\n"
        if not chunked and exchange.upstream is not None:
            exchange.upstream.until_close = True
    if exchange.keep_alive and not keep_alive_allowed:
        exchange.keep_alive = False  # client_keep_alive.seconds reached: close after this response
    out += b"connection: keep-alive\r\n\r\n" if exchange.keep_alive else b"connection: close\r\n\r\n"
    return out


def http1_response(policy: ResponsePolicy, response: LocalResponse, keep_alive: bool) -> bytes:
    """An LB-made response as HTTP/1.1 bytes under the listener's response settings; cacheable ones are
    serialised once per configuration."""
    if not response.cacheable:
        return _http1_bytes(policy, response, keep_alive)
    key = (response, keep_alive)
    cached = policy.cache.get(key)
    if cached is None:
        cached = policy.cache[key] = _http1_bytes(policy, response, keep_alive)
    return cached


def _http1_bytes(policy: ResponsePolicy, response: LocalResponse, keep_alive: bool) -> bytes:
    out = bytearray(b"HTTP/1.1 %d %s\r\n" % (response.status, response.reason))
    for name, value in policy.local_headers(response):
        out += b"%s: %s\r\n" % (name, value)
    out += b"Content-Length: %d\r\nConnection: %s\r\n\r\n" % (
        len(response.body), b"keep-alive" if keep_alive else b"close")
    out += response.body
    return bytes(out)
