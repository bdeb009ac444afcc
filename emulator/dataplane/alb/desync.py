"""HTTP desync mitigation (``routing.http.desync_mitigation_mode``, checklist 5.4), after AWS's
http_desync_guardian: every request is Compliant, Acceptable, Ambiguous or Severe.

| tier       | monitor  | defensive (default)                   | strictest |
|------------|----------|---------------------------------------|-----------|
| Compliant  | forward  | forward                               | forward   |
| Acceptable | forward  | forward                               | 400       |
| Ambiguous  | forward  | forward, then close client and target | 400       |
| Severe     | forward  | 400                                   | 400       |

The classification runs on what the HTTP parser (llhttp) accepted. llhttp already refuses, with 400 in every
mode, what the guardian calls Severe or worse at the byte level (CR/NUL in headers or URI, malformed
version or Content-Length, differing or duplicate Content-Length, whitespace before a header colon, obs-fold),
so those never reach this module. Both Content-Length and Transfer-Encoding is let through the parser
(Transfer-Encoding wins, Content-Length is not forwarded), so it is classified (Ambiguous).
"""

from __future__ import annotations

from emulator.dataplane.alb.request import Request

COMPLIANT, ACCEPTABLE, AMBIGUOUS, SEVERE = 0, 1, 2, 3
_SMUGGLING_NAMES = (b"transferencoding", b"contentlength")
_NOT_LETTERS = bytes(c for c in range(256) if not (97 <= c <= 122))
_BODYLESS = ("GET", "HEAD")


def _suspicious(name: bytes) -> bool:
    """A name that normalises to Transfer-Encoding / Content-Length without being it (``Transfer_Encoding``,
    ``Content-Length\\x0b``...): some parser on the way may read it as the real header."""
    last = name[-1]
    if 97 <= last <= 122 and last != 103 and last != 104:  # ends in a letter other than g/h: cannot be either
        return False  # (the common case: most long names are accept-language, sec-fetch-mode...)
    return name.translate(None, _NOT_LETTERS) in _SMUGGLING_NAMES


def classify(request: Request) -> int:
    """The request's tier; ``request.headers`` names are lower-case, as the parser callbacks stored them."""
    tier = COMPLIANT
    lengths: list[bytes] = []
    encodings: list[bytes] = []
    for name, value in request.headers:
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            encodings.append(value)
        elif len(name) > 12 and _suspicious(name):  # shorter names cannot normalise to either
            tier = max(tier, AMBIGUOUS)  # SuspiciousHeader
        elif not value.isascii():  # llhttp already refused control characters in values
            tier = max(tier, ACCEPTABLE)  # NonCompliantHeader
    if encodings:
        if any(v.strip().lower() != b"chunked" for v in encodings) or len(encodings) > 1:
            return SEVERE  # BadTransferEncoding / MultipleTransferEncodingChunked
        if lengths:
            tier = max(tier, AMBIGUOUS)  # BothTeClPresent
    if request.method in _BODYLESS:
        if encodings:
            tier = max(tier, AMBIGUOUS)  # UndefinedTransferEncodingSemantics
        elif lengths and lengths[0].strip() != b"0":
            tier = max(tier, AMBIGUOUS)  # UndefinedContentLengthSemantics
        elif lengths:
            tier = max(tier, ACCEPTABLE)  # GetHeadZeroContentLength
    return tier


def verdict(mode: str, tier: int) -> str:
    """``"forward"``, ``"forward-close"`` or ``"reject"`` for a request of ``tier`` under ``mode``."""
    if mode == "monitor" or tier == COMPLIANT:
        return "forward"
    if mode == "strictest" or tier == SEVERE:
        return "reject"
    return "forward-close" if tier == AMBIGUOUS else "forward"
