"""The API's HTTP layer: SDK connections are kept alive and each answer is complete in itself."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import requests

_FORM = "Action=DescribeAccountLimits&Version=2015-12-01&PageSize=1"


def _request(host: str, body: str, connection: str = "keep-alive") -> bytes:
    return (
        f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: {connection}\r\n\r\n{body}"
    ).encode()


def _read_response(stream) -> tuple[str, dict[str, str], bytes]:
    status = stream.readline().decode().strip()
    headers: dict[str, str] = {}
    while (line := stream.readline().decode().strip()):
        name, _, value = line.partition(":")
        headers[name.lower()] = value.strip()
    return status, headers, stream.read(int(headers["content-length"]))


def test_two_calls_on_one_connection(emulator_url):
    address = urlsplit(emulator_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock, sock.makefile("rb") as stream:
        sock.sendall(_request(address.netloc, _FORM))
        first = _read_response(stream)
        sock.sendall(_request(address.netloc, _FORM, connection="close"))
        second = _read_response(stream)
        assert stream.read() == b""  # the client asked to close: the server did
    assert first[0] == "HTTP/1.1 200 OK" and "connection" not in first[1]
    assert first[1]["content-type"] == "text/xml" and first[2].startswith(b"<DescribeAccountLimitsResponse")
    assert second[1]["connection"] == "close" and second[2].endswith(b"</DescribeAccountLimitsResponse>")


def test_head_keeps_the_content_length_of_get(emulator_url):
    get = requests.get(f"{emulator_url}/_emulator/health", timeout=10)
    head = requests.head(f"{emulator_url}/_emulator/health", timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"] == str(len(get.content))
