"""One client request as the rule engine and the actions see it, filled in by the parser callbacks.

Derived views (path, query pairs, header lookups, peer address) are computed on first use only, so a
listener with just a default action pays for none of them.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import unquote_plus


class Request:
    __slots__ = (
        "method", "url", "headers", "host", "peer", "peer_port", "_path", "_query", "_pairs", "_ip", "_name", "_name_of",
    )
    http2 = False  # an HTTP/2 stream (``http2.H2Request``): decides 464s against target-group protocol versions

    def __init__(self, peer: str, peer_port: int) -> None:
        self.method = ""
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []  # (lower-case name, value) in arrival order
        self.host = ""  # Host header (or absolute-form authority), as sent
        self.peer = peer
        self.peer_port = peer_port
        self._path: str | None = None
        self._query: str | None = None
        self._pairs: list[tuple[str, str]] | None = None
        self._ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
        self._name = self._name_of = ""  # host_name, and the ``host`` it was derived from

    def _split(self) -> tuple[str, str]:
        url = self.url.decode("latin-1")
        if url[:1] == "/" and "?" not in url and "#" not in url:  # a bare path: nearly every request
            self._path, self._query = url, ""
            return url, ""
        if url.startswith(("http://", "https://")):  # absolute-form: path starts after the authority
            slash = url.find("/", url.find("//") + 2)
            url = url[slash:] if slash >= 0 else "/"
        path, _, query = url.partition("?")
        self._path, self._query = path.partition("#")[0], query.partition("#")[0]
        return self._path, self._query

    def rewrite_url(self, url: bytes) -> None:
        self.url = url
        self._path = self._query = None
        self._pairs = None

    @property
    def path(self) -> str:
        path = self._path
        return path if path is not None else self._split()[0]

    @property
    def query(self) -> str:
        query = self._query
        return query if query is not None else self._split()[1]

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        """Percent-decoded (key, value) pairs; a bare ``key`` has value ``""``."""
        if self._pairs is None:
            pairs = []
            for part in self.query.split("&"):
                if part:
                    key, _, value = part.partition("=")
                    pairs.append((unquote_plus(key), unquote_plus(value)))
            self._pairs = pairs
        return self._pairs

    @property
    def host_name(self) -> str:
        """The Host without its port, for host-header matching (AWS ignores the port)."""
        host = self.host
        if host is not self._name_of:  # derived once per Host value (rules and the upstream head both ask)
            self._name_of = host
            self._name = host[: host.find("]") + 1] if host.startswith("[") else host.partition(":")[0]
        return self._name

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        if self._ip is None:
            self._ip = ipaddress.ip_address(self.peer)
        return self._ip

    def header_values(self, lower_name: bytes) -> list[str]:
        return [v.decode("latin-1") for n, v in self.headers if n == lower_name]

    def declared_length(self) -> int:
        """The body length the Content-Length header declares (0 without one, or with a malformed one)."""
        values = self.header_values(b"content-length")
        try:
            return int(values[0]) if values else 0
        except ValueError:
            return 0

    def cookie(self, name: str) -> str | None:
        """The first cookie called ``name`` in any Cookie header."""
        prefix = name + "="
        for value in self.header_values(b"cookie"):
            for part in value.split(";"):
                part = part.strip()
                if part.startswith(prefix):
                    return part[len(prefix):]
        return None
