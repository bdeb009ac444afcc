"""The one HTTP client for requests the load balancer makes on its own behalf: the OIDC code exchange and
JWKS fetches (one request each, a new connection each, on the event loop).

AWS verifies the certificates of IdPs and JWKS endpoints against public CAs; here the system trust store is
used, plus the PEM file named by ``ELBV2_EMULATOR_CA_BUNDLE`` for local IdPs with their own CA. Requests are
HTTP/1.0, so every answer ends with its connection; httptools parses it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
from urllib.parse import urlsplit

import httptools

CA_BUNDLE_ENV = "ELBV2_EMULATOR_CA_BUNDLE"


class OutboundError(Exception):
    """No complete answer: the endpoint could not be reached, broke HTTP, or sent more than allowed."""


@functools.lru_cache(maxsize=4)
def _verified_context(ca_bundle: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def verified_context() -> ssl.SSLContext:
    return _verified_context(os.environ.get(CA_BUNDLE_ENV) or None)


class _Answer:
    """httptools callbacks: the body, bounded by ``limit``. An answer without a length ends with the
    connection (httptools has no end-of-input call, so ``ended_by_close`` judges it)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.body, self.complete = limit, bytearray(), False
        self.head_done, self.framed = False, False

    def on_header(self, name: bytes, _value: bytes) -> None:
        self.framed = self.framed or name.lower() in (b"content-length", b"transfer-encoding")

    def on_headers_complete(self) -> None:
        self.head_done = True

    def ended_by_close(self) -> bool:
        return self.head_done and not self.framed

    def on_body(self, body: bytes) -> None:
        self.body += body
        if len(self.body) > self.limit:
            raise OutboundError(f"the answer is larger than {self.limit} bytes")

    def on_message_complete(self) -> None:
        self.complete = True


async def request(
    method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b"", limit: int = 1 << 20,
    timeout: float = 5.0,
) -> tuple[int, bytes]:
    """(status, body) of one request; ``OutboundError`` when no complete answer came within ``timeout``."""
    try:
        return await asyncio.wait_for(_request(method, url, headers or {}, body, limit), timeout)
    except (TimeoutError, OSError, ValueError, httptools.HttpParserError) as error:
        raise OutboundError(f"{method} {url}: {error or type(error).__name__}") from error


async def _request(method: str, url: str, headers: dict[str, str], body: bytes, limit: int) -> tuple[int, bytes]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    secure = parts.scheme == "https"
    reader, writer = await asyncio.open_connection(
        parts.hostname, parts.port or (443 if secure else 80),
        ssl=verified_context() if secure else None, server_hostname=parts.hostname if secure else None,
    )
    answer = _Answer(limit)
    parser = httptools.HttpResponseParser(answer)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(f"{method} {target} HTTP/1.0\r\nHost: {parts.netloc}\r\n{lines}Accept: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        while not answer.complete and (data := await reader.read(65536)):
            parser.feed_data(data)
    finally:
        writer.close()
    if not (answer.complete or answer.ended_by_close()):
        raise OutboundError(f"{method} {url}: the answer ended early")
    return parser.get_status_code(), bytes(answer.body)
