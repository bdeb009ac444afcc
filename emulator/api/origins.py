"""Browsers and the API: web pages may not drive the emulator unless they come from this machine.

A developer's browser can reach the API on 127.0.0.1, so without checks any web page could POST
CreateTargetGroup, read ``/moto-api/data.json`` or reset everything. Modelled on LocalStack's CORS
enforcement (``EXTRA_CORS_ALLOWED_ORIGINS``, ``DISABLE_CORS_CHECKS``), ``OriginGuard`` wraps the whole
WSGI app and, before anything runs:

- refuses a ``Host`` that is not a name of this emulator (DNS rebinding: a page that rebinds its own
  name to 127.0.0.1 sends no ``Origin`` on a same-origin GET, but its ``Host`` is still its own name);
- refuses a request whose ``Origin`` (else ``Referer``) is a foreign site;
- answers preflights from allowed origins, and gives CORS headers to allowed origins only.

The origin rules follow LocalStack's (https://docs.localstack.cloud/references/configuration, "Security");
the Host check is ours. Requests without ``Origin`` or ``Referer`` (boto3, the CLI, Terraform, the JS SDK
in Node) pass with one Host lookup in a cache and are otherwise untouched. Refusals are 403
``AccessDenied`` (AWS's common error for a caller that may not act) in the Query protocol's
``ErrorResponse`` XML, with a message saying which option lifts them.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from emulator import protocol
from emulator.api.front import WsgiApp
from emulator.errors import AwsError

log = logging.getLogger("elbv2_emulator.api")

# A predicate over a lower-cased host name without port or brackets ("localhost", "::1", "my-alb-1.…").
HostRule = Callable[[str], bool]

_WILDCARD_BINDS = ("", "0.0.0.0", "::")
_ALLOWED_METHODS = "GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS"
# What the AWS SDKs send (SigV4 and SDK v3 retry headers) when no Access-Control-Request-Headers is given.
_ALLOWED_HEADERS = (
    "authorization,content-type,content-md5,x-amz-date,x-amz-security-token,x-amz-content-sha256,"
    "x-amz-target,x-amz-user-agent,amz-sdk-invocation-id,amz-sdk-request,x-moto-account-id"
)
_EXPOSED_HEADERS = "x-amzn-requestid,x-amz-request-id,x-amz-id-2,etag,x-amz-version-id"
_PREFLIGHT_MAX_AGE = "600"
_HOST_REFUSED = ("Host '{}' is not a name of this emulator (DNS-rebinding protection); "
                 "allow it with --extra-allowed-hosts or ELBV2_EMULATOR_EXTRA_ALLOWED_HOSTS.")
_ORIGIN_REFUSED = ("Origin '{}' may not call this emulator (cross-site request); "
                   "allow it with --extra-cors-allowed-origins or ELBV2_EMULATOR_EXTRA_CORS_ALLOWED_ORIGINS.")


@dataclass(frozen=True, slots=True)
class OriginSettings:
    """What the operator configures: ``--extra-cors-allowed-origins``, ``--extra-allowed-hosts``,
    ``--disable-cors-checks``."""

    extra_allowed_origins: tuple[str, ...] = ()  # exact origins ("https://app.example.com", "null"), or "*"
    extra_allowed_hosts: tuple[str, ...] = ()  # exact names, "*.suffix", or "*"
    disable_checks: bool = False

    @classmethod
    def from_lists(cls, origins: str, hosts: str, disable_checks: bool) -> OriginSettings:
        """Settings from comma-separated lists, as options and environment variables give them."""
        return cls(_split(origins), _split(hosts), disable_checks)


def _split(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def normalized_origin(origin: str) -> str:
    """Lower-cased, without the trailing slash people type after a host ("file://" keeps its own)."""
    origin = origin.strip().lower()
    return origin[:-1] if origin.endswith("/") and not origin.endswith("://") else origin


# -- host rules -------------------------------------------------------------------------------------------


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def is_loopback_name(name: str) -> bool:
    """localhost, *.localhost (browsers resolve it to loopback themselves, RFC 6761), 127.0.0.0/8, ::1."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _ip(name)
    return address is not None and address.is_loopback


def is_ip_literal(name: str) -> bool:
    """An address cannot be rebound: a page can only be served under it by whoever has that address."""
    return _ip(name) is not None


def is_single_label(name: str) -> bool:
    """A name without dots (a docker compose service, an /etc/hosts alias): no public DNS zone serves one."""
    return bool(name) and "." not in name and ":" not in name


# Hosts accepted on every bind; and, when the API listens beyond loopback (a container), also these.
_LOOPBACK_RULES: tuple[HostRule, ...] = (is_loopback_name,)
_CONTAINER_RULES: tuple[HostRule, ...] = (is_ip_literal, is_single_label)


def _listed(patterns: Sequence[str]) -> HostRule:
    exact = frozenset(p for p in patterns if not p.startswith("*"))
    suffixes = tuple(p[1:] for p in patterns if p.startswith("*."))
    everything = "*" in patterns
    return lambda name: everything or name in exact or name.endswith(suffixes)


def host_name(host_header: str) -> str:
    """The name in a Host header: lower-cased, without port, trailing dot or IPv6 brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def listens_on_loopback(api_host: str) -> bool:
    return api_host not in _WILDCARD_BINDS and is_loopback_name(host_name(api_host))


# -- origin rules -----------------------------------------------------------------------------------------


def origin_of_referer(referer: str) -> str:
    """``scheme://host[:port]`` of a Referer URL (``file://`` for a local file), "" when it is not a URL."""
    try:
        parts = urlsplit(referer.strip())
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme else ""


def is_local_page(origin: str, host_header: str) -> bool:
    """A page from this machine (http(s) on a loopback name, any port), a local file (Electron sends
    ``file://``), or a page of the API's own origin (same-origin, its Host already accepted)."""
    if origin == "file://":
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False
    if parts.scheme not in ("http", "https"):
        return False
    same_origin = bool(host_header) and parts.netloc == host_header.strip().lower()
    return same_origin or is_loopback_name(parts.hostname or "")


class OriginPolicy:
    """The decisions, configured once: which Host names and which origins may call the API."""

    def __init__(self, api_host: str, settings: OriginSettings, load_balancer_name: HostRule) -> None:
        self.enforced = not settings.disable_checks
        configured = [host_name(name) for name in settings.extra_allowed_hosts]
        if api_host not in _WILDCARD_BINDS:
            configured.append(host_name(api_host))
        rules = _LOOPBACK_RULES if listens_on_loopback(api_host) else _LOOPBACK_RULES + _CONTAINER_RULES
        self._static_rules = (*rules, _listed(configured))
        self._load_balancer_name = load_balancer_name  # changes as load balancers come and go: never cached
        self._extra_origins = frozenset(normalized_origin(origin) for origin in settings.extra_allowed_origins)
        self._static_host = lru_cache(maxsize=1024)(self._static_host_uncached)

    def _static_host_uncached(self, host_header: str) -> bool:
        name = host_name(host_header)
        return any(rule(name) for rule in self._static_rules)

    def host_allowed(self, host_header: str) -> bool:
        return self._static_host(host_header) or self._load_balancer_name(host_name(host_header))

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        origin = normalized_origin(origin)
        return "*" in self._extra_origins or origin in self._extra_origins or is_local_page(origin, host_header)


# -- the middleware ---------------------------------------------------------------------------------------


class OriginGuard:
    """WSGI middleware: ``OriginGuard(app, policy)`` refuses foreign pages before ``app`` sees them."""

    def __init__(self, app: WsgiApp, policy: OriginPolicy) -> None:
        self._app = app
        self._policy = policy

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        origin = environ.get("HTTP_ORIGIN")
        if self._policy.enforced:
            if host is not None and not self._policy.host_allowed(host):
                return _refuse(start_response, _HOST_REFUSED.format(host))
            referer = environ.get("HTTP_REFERER")  # consulted, as by browsers' own CSRF rules, only without Origin
            claimed = origin if origin is not None else (origin_of_referer(referer) if referer else "")
            if claimed and not self._policy.origin_allowed(claimed, host or ""):
                return _refuse(start_response, _ORIGIN_REFUSED.format(claimed))
        if origin is None:
            return self._app(environ, start_response)
        if environ["REQUEST_METHOD"] == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            return _preflight(environ, origin, start_response)
        return self._app(environ, _with_cors_headers(origin, start_response))


def _refuse(start_response: Callable[..., Any], message: str) -> list[bytes]:
    log.info("refused a browser request: %s", message)
    request_id = str(uuid.uuid4())
    body = protocol.serialize_error(AwsError("AccessDenied", message, 403), request_id)
    start_response("403 Forbidden", [("Content-Type", protocol.XML_CONTENT_TYPE), ("Content-Length", str(len(body))),
                                     ("x-amzn-RequestId", request_id)])
    return [body]


def _origin_headers(origin: str) -> list[tuple[str, str]]:
    return [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]


def _preflight(environ: dict[str, Any], origin: str, start_response: Callable[..., Any]) -> list[bytes]:
    headers = _origin_headers(origin) + [
        ("Vary", "Origin"),
        ("Access-Control-Allow-Methods", _ALLOWED_METHODS),
        ("Access-Control-Allow-Headers", environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS") or _ALLOWED_HEADERS),
        ("Access-Control-Max-Age", _PREFLIGHT_MAX_AGE),
    ]
    if environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true":  # Chrome's Private Network Access
        headers.append(("Access-Control-Allow-Private-Network", "true"))
    start_response("204 No Content", headers)
    return []


def _with_cors_headers(origin: str, start_response: Callable[..., Any]) -> Callable[..., Any]:
    """Our CORS headers instead of any the app set (moto's flask-cors allows every origin)."""
    ours = _origin_headers(origin) + [("Access-Control-Expose-Headers", _EXPOSED_HEADERS)]

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [(name, value) for name, value in headers if not name.lower().startswith(("access-control-", "vary"))]
        varies = [token.strip() for name, value in headers if name.lower() == "vary"
                  for token in value.split(",") if token.strip().lower() not in ("", "origin")]
        return start_response(status, kept + ours + [("Vary", ", ".join(["Origin", *varies]))], exc_info)

    return start
