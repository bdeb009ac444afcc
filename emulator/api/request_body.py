"""Reads one request's body off the API connection: its framing checked, its size capped.

The framing rules are RFC 9112 §6: a body is delimited by exactly one valid ``Content-Length`` or by
``Transfer-Encoding: chunked`` (its chunk sizes, extensions and trailers parsed by llhttp through
``httptools``), never by both. Anything else is broken HTTP, answered with a plain 400 by the handler. A
body longer than ``MAX_REQUEST_BODY`` is refused before it is read (``Content-Length``) or as soon as the
cap is crossed (chunked), so no request can make the server buffer more than that.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import Message
from io import BufferedIOBase

import httptools

MAX_REQUEST_BODY = 16 * 1024 * 1024  # bytes; boto3 and the AWS CLI upload S3 objects above 8 MiB in parts
_READ_SIZE = 64 * 1024
_CONTENT_LENGTH = re.compile(r"[0-9]{1,19}")  # RFC 9110 §8.6: 1*DIGIT (ASCII digits only)
# The head llhttp is given before the chunked body: the real head was already parsed by http.server.
_CHUNKED_HEAD = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"


class BrokenFraming(Exception):
    """The request's body cannot be delimited; answered with ``status`` and the connection closed."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


class BodyTooLarge(Exception):
    """The body is (or would be) larger than ``MAX_REQUEST_BODY``."""


class ClientGone(Exception):
    """The connection ended before the body did: nobody is left to answer."""


def read_body(headers: Message, rfile: BufferedIOBase, request_version: str, send_continue: Callable[[], None]) -> tuple[bytes, bool]:
    """(the body, whether the connection must close after the answer)."""
    codings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if codings:
        if lengths:
            raise BrokenFraming("Content-Length and Transfer-Encoding together")  # RFC 9112 §6.1 (smuggling)
        if request_version < "HTTP/1.1":
            raise BrokenFraming("Transfer-Encoding in an HTTP/1.0 request")  # RFC 9112 §6.1: faulty framing
        _check_codings(codings)
        _expect_continue(headers, request_version, send_continue)
        return _read_chunked(rfile), True  # llhttp may have read past the body: the next request is lost
    length = _content_length(lengths)
    if length > MAX_REQUEST_BODY:
        raise BodyTooLarge()
    if length == 0:
        return b"", False
    _expect_continue(headers, request_version, send_continue)
    body = rfile.read(length)
    if len(body) < length:
        raise ClientGone()
    return body, False


def _check_codings(codings: list[str]) -> None:
    names = [name.strip().lower() for value in codings for name in value.split(",")]
    if names[-1:] != ["chunked"]:
        raise BrokenFraming("chunked is not the final transfer coding")  # RFC 9112 §6.3 rule 4
    if names != ["chunked"]:
        raise BrokenFraming(f"transfer coding not implemented: {', '.join(names)}", 501)  # RFC 9112 §6.1


def _content_length(lengths: list[str]) -> int:
    if not lengths:
        return 0
    if len(lengths) > 1 or _CONTENT_LENGTH.fullmatch(lengths[0].strip()) is None:
        raise BrokenFraming("invalid Content-Length")  # RFC 9112 §6.3 rule 5
    return int(lengths[0])


def _expect_continue(headers: Message, request_version: str, send_continue: Callable[[], None]) -> None:
    if request_version >= "HTTP/1.1" and (headers.get("Expect") or "").strip().lower() == "100-continue":
        send_continue()


class _ChunkedBody:
    """httptools callbacks collecting the decoded chunks, up to the cap."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.complete = False

    def on_body(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > MAX_REQUEST_BODY:
            raise BodyTooLarge()
        self.parts.append(data)

    def on_message_complete(self) -> None:
        self.complete = True


def _read_chunked(rfile: BufferedIOBase) -> bytes:
    body = _ChunkedBody()
    parser = httptools.HttpRequestParser(body)
    parser.feed_data(_CHUNKED_HEAD)
    while not body.complete:
        data = rfile.read1(_READ_SIZE)
        if not data:
            raise ClientGone()
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as error:
            if isinstance(error.__context__, BodyTooLarge):  # raised by on_body, wrapped by httptools
                raise BodyTooLarge() from None
            raise BrokenFraming(f"invalid chunked body: {error}") from None
    return b"".join(body.parts)
