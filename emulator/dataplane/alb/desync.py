"""HTTP desync mitigation (``routing.http.desync_mitigation_mode``; "Desync mitigation mode" in the ALB user
guide), after AWS's http_desync_guardian: every request is Compliant, Acceptable, Ambiguous or Severe.

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

Transfer codings are judged as the guardian does: chunked, compress, deflate, gzip and identity are valid
(``identity`` alone, or ``identity, chunked``, is Compliant), any other is Severe, and so is a second chunked.
The tier decides only whether a request is forwarded; how its body is framed is the connection's business,
and never depends on the mode (``connection.py``).
"""

from __future__ import annotations

from emulator.dataplane.alb.request import Request

COMPLIANT, ACCEPTABLE, AMBIGUOUS, SEVERE = 0, 1, 2, 3
TIER_NAMES = ("-", "Acceptable", "Ambiguous", "Severe")  # as access logs show them ("-": Compliant)
_SMUGGLING_NAMES = (b"transferencoding", b"contentlength")
_NOT_LETTERS = bytes(c for c in range(256) if not (97 <= c <= 122))
_BODYLESS = ("GET", "HEAD")
_VALID_CODINGS = frozenset((b"chunked", b"compress", b"deflate", b"gzip", b"identity"))


def _suspicious(name: bytes) -> bool:
    """A name that normalises to Transfer-Encoding / Content-Length without being it (``Transfer_Encoding``,
    ``Content-Length\\x0b``...): some parser on the way may read it as the real header."""
    last = name[-1]
    if 97 <= last <= 122 and last != 103 and last != 104:  # ends in a letter other than g/h: cannot be either
        return False  # (the common case: most long names are accept-language, sec-fetch-mode...)
    return name.translate(None, _NOT_LETTERS) in _SMUGGLING_NAMES


def _coding_tier(encodings: list[bytes]) -> int:
    """BadTransferEncoding (a coding outside RFC 7230's list) or MultipleTransferEncodingChunked: Severe."""
    chunked = 0
    for value in encodings:
        for item in value.split(b","):
            coding = item.split(b";", 1)[0].strip().lower()
            if coding not in _VALID_CODINGS:
                return SEVERE
            chunked += coding == b"chunked"
    return SEVERE if chunked > 1 else COMPLIANT


def classify(request: Request, http10: bool = False) -> int:
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
        if _coding_tier(encodings) == SEVERE:
            return SEVERE
        if lengths or http10:
            tier = max(tier, AMBIGUOUS)  # BothTeClPresent / UndefinedTransferEncodingSemantics (HTTP/1.0)
    if request.method in _BODYLESS:
        if encodings:
            tier = max(tier, AMBIGUOUS)  # UndefinedTransferEncodingSemantics
        elif lengths and lengths[0].strip() != b"0":
            tier = max(tier, AMBIGUOUS)  # UndefinedContentLengthSemantics
        elif lengths:
            tier = max(tier, ACCEPTABLE)  # GetHeadZeroContentLength
    return tier


def reason(request: Request, http10: bool = False) -> str:
    """The guardian's reason for the tier ``classify`` gives (access logs' ``classification_reason``): the
    first check, in ``classify``'s order, that reached that tier. Only asked of requests that are not
    Compliant, when requests are observed."""
    tier = classify(request, http10)
    found: list[tuple[int, str]] = []
    lengths = [value for name, value in request.headers if name == b"content-length"]
    encodings = [value for name, value in request.headers if name == b"transfer-encoding"]
    for name, value in request.headers:
        if name not in (b"content-length", b"transfer-encoding"):
            if len(name) > 12 and _suspicious(name):
                found.append((AMBIGUOUS, "SuspiciousHeader"))
            elif not value.isascii():
                found.append((ACCEPTABLE, "NonCompliantHeader"))
    if encodings:
        if _coding_tier(encodings) == SEVERE:
            return "BadTransferEncoding"
        if lengths:
            found.append((AMBIGUOUS, "BothTeClPresent"))
        elif http10:
            found.append((AMBIGUOUS, "UndefinedTransferEncodingSemantics"))
    if request.method in _BODYLESS:
        if encodings:
            found.append((AMBIGUOUS, "UndefinedTransferEncodingSemantics"))
        elif lengths and lengths[0].strip() != b"0":
            found.append((AMBIGUOUS, "UndefinedContentLengthSemantics"))
        elif lengths:
            found.append((ACCEPTABLE, "GetHeadZeroContentLength"))
    return next((name for level, name in found if level == tier), "-")


def verdict(mode: str, tier: int) -> str:
    """``"forward"``, ``"forward-close"`` or ``"reject"`` for a request of ``tier`` under ``mode``."""
    if mode == "monitor" or tier == COMPLIANT:
        return "forward"
    if mode == "strictest" or tier == SEVERE:
        return "reject"
    return "forward-close" if tier == AMBIGUOUS else "forward"
