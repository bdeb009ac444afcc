"""HTTP trailers through an ALB, wherever both legs can carry them: an HTTP/1.1 chunked body's last chunk and an
HTTP/2 trailing HEADERS frame, in both directions; fields forbidden in trailers (framing, routing,
connection-specific, LB-set) are not relayed; a Content-Length framed leg drops them; the head's size limits
apply to the trailer section. Raw sockets speak HTTP/1.1 on both sides, the ``h2`` library HTTP/2."""

from __future__ import annotations

import json
import socket
from typing import Any

import h2.config
import h2.connection
import h2.events
import pytest
import trustme

from tests.alb_support import RawBackend, address, alb, forward, listener, listener_url, read_head, target_group
from tests.backends import HttpEcho
from tests.h2_support import HOST, H2Echo, client_context, https_listener

Fields = list[tuple[str, str]]
# What every target answers with: its trailers, one of them (Host) not to be relayed.
RESPONSE_TRAILERS = b"x-checksum: c0ffee\r\nhost: evil.example\r\nx-forwarded-for: 6.6.6.6\r\n"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


# -- HTTP/1.1 on raw sockets -------------------------------------------------------------------------------------


class _Reader:
    """Reads an HTTP/1.1 message body (Content-Length or chunked, with its trailer section) from a socket."""

    def __init__(self, sock: socket.socket, buffered: bytes) -> None:
        self.sock, self.data = sock, bytearray(buffered)

    def _line(self) -> bytes:
        while b"\r\n" not in self.data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed mid-message")
            self.data += chunk
        line, _, rest = bytes(self.data).partition(b"\r\n")
        self.data = bytearray(rest)
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self.data) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed mid-message")
            self.data += chunk
        out, self.data = bytes(self.data[:size]), self.data[size:]
        return out

    def body(self, head: bytes) -> tuple[bytes, Fields]:
        """(body, trailer fields) of the message whose head is ``head``."""
        lines = head.lower().split(b"\r\n")
        if b"transfer-encoding: chunked" not in lines:
            length = next((int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length:")), 0)
            return self._exactly(length), []
        body = bytearray()
        while size := int(self._line().split(b";")[0], 16):
            body += self._exactly(size)
            assert self._exactly(2) == b"\r\n"
        trailers: Fields = []
        while line := self._line():
            name, _, value = line.decode().partition(":")
            trailers.append((name.lower(), value.strip()))
        return bytes(body), trailers


def _h1_target(sock: socket.socket) -> None:
    """Answers each request with JSON of what it received, as a chunked body ending in RESPONSE_TRAILERS."""
    buffered = b""
    while True:
        try:
            head, buffered = read_head(sock)
        except ConnectionError:
            return
        reader = _Reader(sock, buffered)
        body, trailers = reader.body(head)
        buffered = bytes(reader.data)
        lines = head.decode().split("\r\n")
        payload = json.dumps({"head": lines, "body": body.decode(), "trailers": trailers}).encode()
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntrailer: x-checksum\r\n"
                     b"transfer-encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n%s\r\n" % (len(payload), payload, RESPONSE_TRAILERS))


def _h1_exchange(sock: socket.socket, request: bytes) -> tuple[bytes, dict[str, Any], Fields]:
    """Send ``request``: (response head, its JSON body, its trailers)."""
    sock.sendall(request)
    head, rest = read_head(sock)
    reader = _Reader(sock, rest)
    body, trailers = reader.body(head)
    assert not reader.data  # nothing followed the response
    assert body[:1] == b"{", (head, body)
    return head, json.loads(body), trailers


def _http_listener(elbv2: Any, emulator_url: str, lb: str, tg: str) -> tuple[str, int]:
    return address(listener_url(emulator_url, listener(elbv2, lb, forward(tg))))


# -- HTTP/2 with the h2 library ----------------------------------------------------------------------------------


class H2TrailerTarget(H2Echo):
    """An HTTP/2 target answering each stream with JSON of what it received (headers, body, trailers), then
    trailers of its own (RESPONSE_TRAILERS' fields)."""

    def serve(self, sock: socket.socket) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="latin-1"))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        seen: dict[int, dict] = {}
        while data := sock.recv(65536):
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    seen[event.stream_id] = {"headers": list(event.headers), "body": "", "trailers": []}
                elif isinstance(event, h2.events.DataReceived):
                    seen[event.stream_id]["body"] += event.data.decode()
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.TrailersReceived):
                    seen[event.stream_id]["trailers"] = list(event.headers)
                elif isinstance(event, h2.events.StreamEnded):
                    conn.send_headers(event.stream_id, [(":status", "200"), ("content-type", "application/json")])
                    conn.send_data(event.stream_id, json.dumps(seen.pop(event.stream_id)).encode())
                    conn.send_headers(event.stream_id, [("x-checksum", "c0ffee"), ("x-forwarded-for", "6.6.6.6")],
                                      end_stream=True)
            sock.sendall(conn.data_to_send())


def _h2_exchange(addr: tuple[str, int], ca: trustme.CA, body: bytes, trailers: Fields,
                 headers: Fields = ()) -> tuple[Fields, dict[str, Any], Fields]:
    """POST ``body`` then ``trailers`` (a trailing HEADERS frame) on a new HTTP/2 connection: (response
    headers, its JSON body, its trailers)."""
    sock = client_context(ca).wrap_socket(socket.create_connection(addr, timeout=5), server_hostname=HOST)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="latin-1"))
    conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    conn.send_headers(stream, [(":method", "POST"), (":scheme", "https"), (":path", "/t"), (":authority", HOST),
                               ("trailer", "x-checksum"), *headers])
    conn.send_data(stream, body)
    conn.send_headers(stream, trailers, end_stream=True)
    sock.sendall(conn.data_to_send())
    response: Fields = []
    received, response_trailers = b"", []
    ended = False
    with sock:
        while not ended and (data := sock.recv(65536)):
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    response = list(event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    received += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.TrailersReceived):
                    response_trailers = list(event.headers)
                elif isinstance(event, h2.events.StreamEnded):
                    ended = True
            sock.sendall(conn.data_to_send())
    assert ended
    return response, json.loads(received), response_trailers


# -- the tests ----------------------------------------------------------------------------------------------------


def test_h1_request_trailers_reach_h1_target_and_its_trailers_come_back(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as health, RawBackend(_h1_target) as backend:
        lb = alb(elbv2, subnets)
        addr = _http_listener(elbv2, emulator_url, lb, target_group(elbv2, vpc_id, "h1", [backend], health=health))
        client = socket.create_connection(addr, timeout=5)
        head, echoed, trailers = _h1_exchange(client, (
            b"POST /t HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n"
            b"X-Checksum: abc\r\ncontent-length: 99\r\nhost: evil.example\r\nx-forwarded-for: 6.6.6.6\r\n"
            b"keep-alive: timeout=1\r\nx-other: 1\r\n\r\n"))
        assert head.startswith(b"HTTP/1.1 200")
        assert echoed["body"] == "hello world"
        # Relayed in the re-chunked body's last chunk; framing, routing, connection and LB-set fields are not.
        assert echoed["trailers"] == [["x-checksum", "abc"], ["x-other", "1"]]
        sent_head = [line.lower() for line in echoed["head"]]
        assert "trailer: x-checksum" in sent_head  # the announcement is end to end
        assert "transfer-encoding: chunked" in sent_head and not any(h.startswith("content-length") for h in sent_head)
        assert [line for line in sent_head if line.startswith("host:")] == [f"host: app:{addr[1]}"]
        # The target's chunked response keeps its trailers (all but Host and X-Forwarded-For) to the client.
        assert b"trailer: x-checksum" in head.lower()
        assert trailers == [("x-checksum", "c0ffee")]
        # The connection carries on: the next request's fields are headers again. Its trailer section's
        # Connection: close is not relayed, but closes the connection after the response.
        with client:
            head, echoed, trailers = _h1_exchange(client, (
                b"POST /u HTTP/1.1\r\nHost: app\r\nX-Mine: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"2\r\nhi\r\n0\r\nconnection: close\r\n\r\n"))
            assert client.recv(1) == b""
        assert echoed["body"] == "hi" and echoed["trailers"] == [] and "x-mine: 2" in [h.lower() for h in echoed["head"]]
        assert b"connection: close" in head.lower() and trailers == [("x-checksum", "c0ffee")]


def test_h1_response_trailers_are_dropped_for_an_http10_client(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as health, RawBackend(_h1_target) as backend:
        lb = alb(elbv2, subnets)
        addr = _http_listener(elbv2, emulator_url, lb, target_group(elbv2, vpc_id, "h1", [backend], health=health))
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(b"GET /t HTTP/1.0\r\nHost: app\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding" not in head.lower()
        assert json.loads(body)["trailers"] == [] and b"c0ffee" not in body  # HTTP/1.0 has no chunks to carry them


def test_h1_trailer_section_has_the_head_limits(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as health, RawBackend(_h1_target) as backend:
        lb = alb(elbv2, subnets)
        addr = _http_listener(elbv2, emulator_url, lb, target_group(elbv2, vpc_id, "h1", [backend], health=health))
        with socket.create_connection(addr, timeout=5) as sock:
            sock.sendall(b"POST /t HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n"
                         b"x-big: " + b"v" * (17 * 1024) + b"\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert b"HTTP/1.1 400" in answer  # a trailer field over 16 KB, as a header field would be


def test_h2_request_trailers_reach_h1_target_when_chunked(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    with HttpEcho() as health, RawBackend(_h1_target) as backend:
        lb = alb(elbv2, subnets)
        _, addr = https_listener(elbv2, acm, emulator_url, ca, lb,
                                 forward(target_group(elbv2, vpc_id, "h1", [backend], health=health)))
        # Without content-length the body reaches the HTTP/1.1 target chunked: the trailers go in its last chunk.
        response, echoed, trailers = _h2_exchange(addr, ca, b"hello", [("x-checksum", "abc"), ("x-forwarded-for", "6.6.6.6")])
        assert dict(response)[":status"] == "200"
        assert echoed["body"] == "hello" and echoed["trailers"] == [["x-checksum", "abc"]]
        assert "trailer: x-checksum" in [line.lower() for line in echoed["head"]]
        # The target's chunked trailers become a trailing HEADERS frame.
        assert trailers == [("x-checksum", "c0ffee")]
        # With content-length the target's body is Content-Length framed, which cannot carry trailers.
        _, echoed, _ = _h2_exchange(addr, ca, b"hello", [("x-checksum", "abc")], headers=[("content-length", "5")])
        assert echoed["body"] == "hello" and echoed["trailers"] == []
        assert "content-length: 5" in [line.lower() for line in echoed["head"]]


def test_h2_request_and_response_trailers_between_h2_client_and_h2_target(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    with H2Echo() as health, H2TrailerTarget() as target:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "h2", [target], ProtocolVersion="HTTP2", health=health)
        _, addr = https_listener(elbv2, acm, emulator_url, ca, lb, forward(tg))
        response, echoed, trailers = _h2_exchange(
            addr, ca, b"hello", [("x-checksum", "abc"), ("x-forwarded-for", "6.6.6.6"), ("x-other", "1")])
        assert dict(response)[":status"] == "200"
        assert echoed["body"] == "hello"
        assert echoed["trailers"] == [["x-checksum", "abc"], ["x-other", "1"]]  # a trailing HEADERS with END_STREAM
        sent = dict(echoed["headers"])
        assert sent["trailer"] == "x-checksum" and sent["te"] == "trailers"  # (gRPC targets need TE: trailers)
        assert trailers == [("x-checksum", "c0ffee")]  # the LB-set X-Forwarded-For is not relayed
