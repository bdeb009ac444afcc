"""HTTP/2 flow control shared by both legs: the client's streams (``http2.stream``) and the target's (``http2.upstream``)."""

from __future__ import annotations

import h2.connection


def send_within_window(connection: h2.connection.H2Connection, stream_id: int, pending: bytearray) -> None:
    """Send as much of ``pending`` as the stream's and the connection's windows allow, removing what was sent.

    What is left waits for a WINDOW_UPDATE: that wait is the backpressure (RFC 9113 §5.2).
    """
    while pending:
        size = min(connection.local_flow_control_window(stream_id), connection.max_outbound_frame_size)
        if size <= 0:
            return
        connection.send_data(stream_id, bytes(pending[:size]))
        del pending[:size]
