"""Fuzzes the API port with malformed HTTP over raw sockets (run by hand; a short run is part of the tests):

    python scripts/fuzz_http.py [--cases 10000] [--seed 1]

Each case is one request with something broken or odd: its framing (Content-Length negative, non-numeric,
non-ASCII, repeated or with Transfer-Encoding; chunk sizes overflowing, negative or malformed; valid chunk
extensions and trailers; truncated bodies), its method, request line, version or headers (no colon,
folded, NUL bytes, hundreds of them, huge ones), or a body over the cap. The client half-closes after
sending. A complete request must get an HTTP answer (what the API or moto answers, or a plain-text 400 for
broken HTTP), never an HTML page, never a 500, never a silent close; an incomplete one may also just be
closed. Every 500 cases the server must be up and its RSS bounded. Prints counts and exits 1 on a finding.
"""

from __future__ import annotations

import argparse
import collections
import random
import socket
import sys
from collections.abc import Callable

import requests
from benchlib import Emulator

MAX_RSS_MB = 400
CAP = 16 * 1024 * 1024  # emulator/api/request_body.MAX_REQUEST_BODY
_FORM = b"Action=DescribeAccountLimits&Version=2015-12-01"
_HEAD = b"Host: api\r\nContent-Type: application/x-www-form-urlencoded\r\n"
Case = tuple[str, bytes, bool]  # (kind, bytes to send, whether the request is complete)


def _post(headers: bytes, body: bytes = b"", complete: bool = True, kind: str = "") -> Case:
    return kind, b"POST / HTTP/1.1\r\n" + _HEAD + headers + b"\r\n" + body, complete


def _hex(rng: random.Random) -> bytes:
    return rng.choice([b"fffffffffffffffffff", b"-5", b"0x5", b"5 ", b" 5", b"5\t", b"zz", b"", b"ffffffff", b"7fffffffffffffff",
                       b"\xc2\xb2", b"5;", b"5;=", b"5;a=\"unterminated", b"1" * 40])


def framing(rng: random.Random) -> Case:
    roll = rng.randrange(9)
    if roll == 0:
        value = rng.choice([b"-5", b"abc", b"\xc2\xb2", b"1e3", b"+5", b"5, 5", b"", b" ", b"99999999999999999999999", b"0x10"])
        return _post(b"Content-Length: " + value + b"\r\n", _FORM, complete=False, kind="bad Content-Length")
    if roll == 1:
        return _post(b"Content-Length: 47\r\nContent-Length: 48\r\n", _FORM, kind="two Content-Lengths")
    if roll == 2:
        return _post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n", kind="CL+TE")
    if roll == 3:
        coding = rng.choice([b"gzip", b"chunked, gzip", b"gzip, chunked", b"identity", b"CHUNKED", b" chunked", b"chunked, chunked", b"x"])
        return _post(b"Transfer-Encoding: " + coding + b"\r\n", b"0\r\n\r\n", complete=False, kind="transfer codings")
    if roll == 4:
        return _post(b"Transfer-Encoding: chunked\r\n", _hex(rng) + b"\r\nhello\r\n0\r\n\r\n", complete=False, kind="bad chunk size")
    if roll == 5:  # valid extensions and trailers: must be a 200
        extension = rng.choice([b"", b";a", b";a=b", b';a="quoted"', b";a=b;c"])
        trailer = rng.choice([b"", b"X-Trailer: 1\r\n", b"A: 1\r\nB: 2\r\n"])
        body = f"{len(_FORM):x}".encode() + extension + b"\r\n" + _FORM + b"\r\n0\r\n" + trailer + b"\r\n"
        return _post(b"Transfer-Encoding: chunked\r\n", body, kind="chunk extensions and trailers")
    if roll == 6:
        cut = rng.randrange(1, len(_FORM))
        return _post(f"Content-Length: {len(_FORM)}\r\n".encode(), _FORM[:cut], complete=False, kind="truncated body")
    if roll == 7:
        return _post(b"Transfer-Encoding: chunked\r\n", b"5\r\nhel", complete=False, kind="truncated chunk")
    return _post(f"Content-Length: {rng.choice([CAP + 1, 2**40, 2**63 - 1])}\r\n".encode(), b"x" * 100, complete=False,
                 kind="Content-Length over the cap")


def request_line(rng: random.Random) -> Case:
    method = rng.choice([b"GET", b"get", b"PROPFIND", b"BREW", b"CONNECT", b"TRACE", b"OPTIONS", b"DELETE", b"PATCH",
                         b"G\x00T", b"GE T", b"A" * rng.choice([1, 128, 9000]), b"\xff\xfe", b""])
    target = rng.choice([b"/", b"*", b"/?Action=DescribeAccountLimits&Version=2015-12-01", b"http://[::1/", b"//x//y",
                         b"/%00", b"/%zz", b"/" + b"a" * 70_000, b"http://example.com/", b"/\xff", b"/?%C2%B2=1"])
    version = rng.choice([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/9.9", b"HTTP/1.x", b"HTTP/1", b"", b"HTTP/1.1 extra",
                          b"http/1.1", b"HTTP/0.9"])
    line = b" ".join(part for part in (method, target, version) if part)
    return "request line", line + b"\r\nHost: api\r\n\r\n", True


def headers(rng: random.Random) -> Case:
    roll = rng.randrange(6)
    if roll == 0:
        odd = rng.choice([b"NoColon", b"Space : x", b" folded: x", b"X: a\r\n continued", b"X: \x00", b"X\x00: y",
                          b": empty-name", b"X: \xff\xfe", b"X-\xc3\xa9: y"])
        return _post(odd + b"\r\nContent-Length: 0\r\n", kind="odd header")
    if roll == 1:
        return _post(b"".join(f"X-{index}: y\r\n".encode() for index in range(rng.choice([99, 101, 500]))) + b"Content-Length: 0\r\n",
                     kind="many headers")
    if roll == 2:
        return _post(b"X-Big: " + b"a" * rng.choice([8000, 65_537, 200_000]) + b"\r\nContent-Length: 0\r\n", kind="huge header")
    if roll == 3:
        return _post(b"Expect: " + rng.choice([b"100-continue", b"200-ok", b""]) + f"\r\nContent-Length: {len(_FORM)}\r\n".encode(),
                     _FORM, kind="Expect")
    if roll == 4:
        return _post(b"Connection: " + rng.choice([b"close", b"keep-alive", b"upgrade", b"\x01"]) + b"\r\nUpgrade: h2c\r\n"
                     + f"Content-Length: {len(_FORM)}\r\n".encode(), _FORM, kind="Connection/Upgrade")
    return "bare line endings", b"POST / HTTP/1.1\nHost: api\nContent-Length: 0\n\n", True


def garbage(rng: random.Random) -> Case:
    return "garbage", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) + b"\r\n\r\n", False


_GENERATORS: list[Callable[[random.Random], Case]] = [framing, framing, request_line, headers, garbage]


def exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes | None:
    """Send, half-close, read to EOF; None if the server neither answered nor closed in time."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before taking everything (413, 431)
            pass
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            return None
        return received


def verdict(answer: bytes | None, complete: bool) -> str | None:
    """None when the answer is acceptable, else what is wrong with it."""
    if answer is None:
        return "no answer and no close"
    if not answer:
        return None if not complete else "closed without an answer"
    status_line, _, rest = answer.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        return f"not an HTTP answer: {answer[:80]!r}"
    status = int(parts[1])
    head, _, body = rest.partition(b"\r\n\r\n")
    if b"<html" in body[:200].lower() or b"<!doctype" in body[:200].lower():  # moto's empty text/html 403 is no page
        return f"an HTML {status} page"
    if status >= 500 and status not in (501, 503, 505):
        return f"a {status}: {answer[:300]!r}"
    return None


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--cases", type=int, default=10_000)
    options.add_argument("--seed", type=int, default=1)
    args = options.parse_args()
    rng = random.Random(args.seed)
    emulator = Emulator()
    port = int(emulator.url.rsplit(":", 1)[1])
    counts: collections.Counter[str] = collections.Counter()
    findings: list[str] = []
    start_rss = max_rss = emulator.rss_mb()
    try:
        for case in range(1, args.cases + 1):
            kind, data, complete = rng.choice(_GENERATORS)(rng)
            answer = exchange(port, data)
            status = answer.split(b" ", 2)[1].decode(errors="replace") if answer and b" " in answer[:16] else "closed"
            counts[f"{kind}: {status}"] += 1
            problem = verdict(answer, complete)
            if problem:
                findings.append(f"case {case} ({kind}) {data[:120]!r}: {problem}")
            if case % 500 == 0 or case == args.cases:
                if case % 2000 == 0:  # one streamed body over the cap: memory must stay bounded
                    big = _post(b"Transfer-Encoding: chunked\r\n", (b"100000\r\n" + b"a" * 0x100000 + b"\r\n") * 20)[1]
                    answer = exchange(port, big)
                    if not (answer or b"").startswith(b"HTTP/1.1 413 "):
                        findings.append(f"case {case}: 20 MiB chunked body not refused with 413: {(answer or b'')[:80]!r}")
                max_rss = max(max_rss, emulator.rss_mb())
                if max_rss > MAX_RSS_MB:
                    findings.append(f"case {case}: RSS {max_rss:.0f} MB > {MAX_RSS_MB} MB")
                try:
                    requests.get(f"{emulator.url}/_emulator/health", timeout=10).raise_for_status()
                except requests.RequestException as error:
                    findings.append(f"case {case}: the server is down ({error})")
                    break
    finally:
        emulator.stop()
    print(f"fuzz_http: {args.cases} cases, seed {args.seed}; RSS {start_rss:.0f} MB at start, {max_rss:.0f} MB at most")
    for outcome, count in sorted(counts.items()):
        print(f"  {count:6d}  {outcome}")
    for finding in findings[:20]:
        print(f"  FINDING {finding}")
    print(f"findings: {len(findings)}")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
