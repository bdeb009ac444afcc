"""Rule actions ("Using rule actions in AWS WAF"): Allow and Block terminate the web ACL's evaluation, Count
goes on; CAPTCHA and Challenge answer with AWS's interstitial status codes (405 and 202) unless the request
carries an ``aws-waf-token`` cookie, in which case they act like Count (the emulator does not issue or verify
tokens: any value stands for a solved puzzle / passed challenge).

Allow, Count, CAPTCHA and Challenge may insert request headers (CustomRequestHandling), named
``x-amzn-waf-<name>`` ("Inserting custom request headers for non-blocking actions"); Block may answer with a
CustomResponse (ResponseCode, ResponseHeaders as written, a body from CustomResponseBodies).
"""

from __future__ import annotations

from typing import Any

from emulator.dataplane.alb.responses import LocalResponse, lb_response
from emulator.dataplane.alb.waf.transforms import UnsupportedDefinition

ALLOW, BLOCK, COUNT, CAPTCHA, CHALLENGE = "ALLOW", "BLOCK", "COUNT", "CAPTCHA", "CHALLENGE"
TOKEN_COOKIE = "aws-waf-token"
_CONTENT_TYPES = {"TEXT_PLAIN": "text/plain", "TEXT_HTML": "text/html", "APPLICATION_JSON": "application/json"}
_INTERSTITIAL = (
    "<html><head><title>{title}</title></head><body><h1>{title}</h1><p>AWS WAF {kind}: this is the emulator's "
    "stand-in page. Send the request again with an aws-waf-token cookie (any value) to pass.</p></body></html>"
)


class Action:
    """A compiled rule action: its kind, the response it answers with (Block, CAPTCHA, Challenge), the request
    headers it inserts."""

    __slots__ = ("kind", "response", "insert")

    def __init__(self, kind: str, response: LocalResponse | None = None,
                 insert: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self.kind, self.response, self.insert = kind, response, insert

    @property
    def terminating(self) -> bool:
        return self.kind in (ALLOW, BLOCK)


def _interstitial(kind: str, status: int) -> LocalResponse:
    title = "Human verification" if kind == CAPTCHA else "Checking your browser"
    body = _INTERSTITIAL.format(title=title, kind=kind.lower()).encode()
    return LocalResponse(status, "text/html", body, [(b"x-amzn-waf-action", kind.lower().encode())], cacheable=True)


def _inserted(options: dict[str, Any]) -> tuple[tuple[bytes, bytes], ...]:
    headers = ((options.get("CustomRequestHandling") or {}).get("InsertHeaders")) or ()
    return tuple((f"x-amzn-waf-{header['Name']}".lower().encode("latin-1"), str(header["Value"]).encode("latin-1"))
                 for header in headers)


def _block(options: dict[str, Any], bodies: dict[str, Any]) -> LocalResponse:
    custom = options.get("CustomResponse")
    if not custom:
        return lb_response(403)
    body_key = custom.get("CustomResponseBodyKey")
    body = bodies.get(body_key) if body_key else None
    if body_key and body is None:
        raise UnsupportedDefinition(f"CustomResponseBodyKey {body_key} (not in CustomResponseBodies)")
    content_type = _CONTENT_TYPES.get((body or {}).get("ContentType", ""), "text/plain")
    headers = [(str(h["Name"]).encode("latin-1"), str(h["Value"]).encode("latin-1"))
               for h in custom.get("ResponseHeaders") or ()]
    content = str((body or {}).get("Content", "")).encode()
    return LocalResponse(int(custom.get("ResponseCode") or 403), content_type, content, headers, cacheable=True)


def compile_action(spec: dict[str, Any] | None, bodies: dict[str, Any]) -> Action:
    """A rule's Action or a web ACL's DefaultAction (Allow or Block)."""
    if not isinstance(spec, dict) or len(spec) != 1:
        raise UnsupportedDefinition(f"action {spec!r}")
    (kind, options), = spec.items()
    options = options or {}
    if kind == "Allow":
        return Action(ALLOW, insert=_inserted(options))
    if kind == "Block":
        return Action(BLOCK, _block(options, bodies))
    if kind == "Count":
        return Action(COUNT, insert=_inserted(options))
    if kind == "Captcha":
        return Action(CAPTCHA, _interstitial(CAPTCHA, 405), _inserted(options))
    if kind == "Challenge":
        return Action(CHALLENGE, _interstitial(CHALLENGE, 202), _inserted(options))
    raise UnsupportedDefinition(f"action {kind}")
