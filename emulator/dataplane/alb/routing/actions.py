"""Rule actions compiled for the data plane: redirect and fixed-response here, forward in ``selection.forward``, the
authenticate and jwt-validation actions that guard them in ``alb.auth``.

AWS "Listener rules for your Application Load Balancer", rule action types
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-action-types.html).
Only the last action (by ``Order``) is terminal; an authenticate or jwt-validation action before it wraps it.
"""

from __future__ import annotations

from emulator.dataplane.alb.auth.authenticate import AUTH_TYPES, Authenticate
from emulator.dataplane.alb.auth.jwt_validation import JwtValidation
from emulator.dataplane.alb.request import Request
from emulator.dataplane.alb.responses import LocalResponse, redirect
from emulator.dataplane.selection.forward import Forward
from emulator.dataplane.selection.group import TargetGroupRuntime


class Redirect:
    """A 301/302 whose Location fills #{protocol} #{host} #{port} #{path} #{query} from the request."""

    __slots__ = ("protocol", "host", "port", "path", "query", "status")

    def __init__(self, config: dict) -> None:
        self.protocol = config.get("Protocol") or "#{protocol}"
        self.host = config.get("Host") or "#{host}"
        self.port = config.get("Port") or "#{port}"
        self.path = config.get("Path") or "/#{path}"
        query = config.get("Query")
        self.query: str = query if query is not None else "#{query}"
        self.status = 301 if config.get("StatusCode") == "HTTP_301" else 302

    def location(self, request: Request, listener_protocol: str, listener_port: int) -> str:
        values = {
            "#{protocol}": listener_protocol.lower(),
            "#{host}": request.host_name,
            "#{port}": str(listener_port),
            "#{path}": request.path[1:],  # AWS: #{path} comes without its leading "/"
            "#{query}": request.query,
        }

        def fill(template: str) -> str:
            for placeholder, value in values.items():
                template = template.replace(placeholder, value)
            return template

        protocol = fill(self.protocol).lower()
        port = fill(self.port)
        default_port = (protocol == "http" and port == "80") or (protocol == "https" and port == "443")
        query = fill(self.query)
        authority = fill(self.host) + ("" if default_port else f":{port}")
        return f"{protocol}://{authority}{fill(self.path)}" + (f"?{query}" if query else "")

    def response(self, request: Request, listener_protocol: str, listener_port: int) -> LocalResponse:
        return redirect(self.status, self.location(request, listener_protocol, listener_port))


class FixedResponse:
    """Built once per configuration; the client legs cache its serialised forms."""

    __slots__ = ("response",)

    def __init__(self, config: dict) -> None:
        body = (config.get("MessageBody") or "").encode()
        status, content_type = int(config["StatusCode"]), config.get("ContentType") or "text/plain"
        self.response = LocalResponse(status, content_type, body, cacheable=True)


# None: nothing the data plane can do -> 503
Action = Forward | Redirect | FixedResponse | Authenticate | JwtValidation | None


def compile_actions(actions: list[dict], groups: dict[str, TargetGroupRuntime], signer: str = "") -> Action:
    """``signer``: the load balancer's ARN, named in the JWTs of authenticate actions."""
    if not actions:
        return None
    terminal = _terminal(max(actions, key=lambda a: a.get("Order", 0)), groups)
    auth = next((a for a in actions if a.get("Type") in AUTH_TYPES), None)
    if auth is not None:
        return Authenticate(auth, terminal, signer)
    jwt = next((a for a in actions if a.get("Type") == "jwt-validation"), None)
    return JwtValidation(jwt, terminal) if jwt is not None else terminal


def _terminal(action: dict, groups: dict[str, TargetGroupRuntime]) -> Action:
    kind = action.get("Type")
    if kind == "redirect":
        return Redirect(action.get("RedirectConfig") or {})
    if kind == "fixed-response":
        return FixedResponse(action.get("FixedResponseConfig") or {})
    if kind != "forward":
        return None
    config = action.get("ForwardConfig") or {}
    weighted = [(t["TargetGroupArn"], int(t.get("Weight", 1))) for t in config.get("TargetGroups") or []]
    if not weighted and action.get("TargetGroupArn"):
        weighted = [(action["TargetGroupArn"], 1)]
    present = [(groups[arn], weight) for arn, weight in weighted if arn in groups]
    if not present:
        return None
    stickiness = config.get("TargetGroupStickinessConfig") or {}
    seconds = int(stickiness.get("DurationSeconds") or 0) if stickiness.get("Enabled") else 0
    return Forward(present, seconds)
