"""Binding a listener socket, with the documented remap when the LB's own address or port is unavailable.

Every load balancer owns a loopback address (127.1.x.y; Linux routes all of 127.0.0.0/8 locally), so
two LBs can both listen on port 80. Where that address does not exist (macOS, some containers) the
listener binds 127.0.0.1 instead; where the port cannot be bound (below 1024 without privileges, or
taken by another program) it binds an ephemeral port. ``GET /_emulator/listeners`` reports the result.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger("elbv2_emulator.dataplane")
T = TypeVar("T")

FALLBACK_HOST = "127.0.0.1"


async def bind_with_remap(bind: Callable[[str, int], Awaitable[T]], host: str, port: int) -> tuple[T, str, int]:
    """Call ``bind(host, port)``, falling back as described above; returns (server, host, port) as requested
    from ``bind`` (port 0 means the caller must read the real port from its socket)."""
    try:
        return await bind(host, port), host, port
    except OSError as error:
        if error.errno == errno.EADDRNOTAVAIL and host != FALLBACK_HOST:
            log.warning("address %s unavailable; listener %s:%d remapped to %s", host, host, port, FALLBACK_HOST)
            return await bind_with_remap(bind, FALLBACK_HOST, port)
        if error.errno in (errno.EACCES, errno.EADDRINUSE, errno.EPERM) and port != 0:
            log.warning("port %d unavailable on %s (%s); remapped to an ephemeral port", port, host, error.strerror)
            return await bind(host, 0), host, 0
        raise
