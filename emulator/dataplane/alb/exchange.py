"""One request/response exchange on a client connection, from parsed head to finished response."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.dataplane.alb.request import Request

# Bits of ``ClientConnection.paused``: why client reading is paused (each reason resumes independently).
PIPELINE, UPSTREAM_FULL, UPGRADING = 1, 2, 4

if TYPE_CHECKING:
    from emulator.dataplane.alb.upstream import UpstreamConnection
    from emulator.dataplane.selection.forward import Selection
    from emulator.dataplane.targets import Target, TargetGroupRuntime


class Exchange:
    __slots__ = (
        "request", "keep_alive", "http10", "chunked", "upgrade", "expect", "head_only", "request_done", "body",
        "upstream", "target", "group", "sticky", "cookies", "local", "response_started", "response_chunked",
        "discard", "ambiguous", "identity",
    )

    def __init__(self, request: Request) -> None:
        self.request = request
        self.keep_alive = True
        self.http10 = False
        self.chunked = False  # request body is chunked (re-chunked to the target)
        self.upgrade: bytes | None = None  # Upgrade header value (WebSocket)
        self.expect = False  # Expect: 100-continue
        self.head_only = False  # HEAD request
        self.request_done = False
        self.body: list[bytes] | None = []  # request body received before the upstream is ready
        self.upstream: UpstreamConnection | None = None
        self.target: Target | None = None
        self.group: TargetGroupRuntime | None = None
        self.sticky: Selection | None = None  # where the request went; adds the app_cookie cookies
        self.cookies = b""  # Set-Cookie lines the LB adds to the response
        self.local: bytes | None = None  # an LB-made response waiting for the request body to end
        self.response_started = False
        self.response_chunked = False
        self.discard = False  # request body is read and dropped (local response)
        self.ambiguous = False  # desync "Ambiguous": neither the client nor the target connection is reused
        self.identity = False  # Transfer-Encoding ends in identity: Content-Length frames the body
