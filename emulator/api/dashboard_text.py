"""How the dashboard words what it shows: rule conditions, actions and transforms as one line each, and the
recent ALB requests and NLB flows as table rows.

Conditions and actions are read in the shapes DescribeRules returns (API Reference: RuleCondition, Action,
RuleTransform); traffic rows come from ``api_models.observations`` records. The wording follows the console's
rule editor ("IF Path is /api/*", "THEN Forward to target group"), shortened to fit a table cell.
"""

from __future__ import annotations

from typing import Any

from api_models.observations import FlowRecord, RequestRecord

_CONDITION_NAMES = {
    "host-header": "Host", "path-pattern": "Path", "http-header": "Header", "http-request-method": "Method",
    "query-string": "Query", "source-ip": "Source IP",
}
_CONFIG_OF = {
    "host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig", "http-header": "HttpHeaderConfig",
    "http-request-method": "HttpRequestMethodConfig", "query-string": "QueryStringConfig", "source-ip": "SourceIpConfig",
}
# RedirectConfig's defaults: the request's own host, path and query (API Reference: RedirectActionConfig).
_KEPT_BY_REDIRECT = {"Host": "#{host}", "Path": "/#{path}", "Query": "#{query}"}


def condition_text(condition: dict[str, Any]) -> str:
    """One condition, e.g. ``Path is /api/* or /v2/*``, ``Header X-Env is prod``, ``Query a=1``."""
    field = str(condition.get("Field", "?"))
    config = condition.get(_CONFIG_OF.get(field, ""), {}) or {}
    if field == "query-string":
        pairs = [f"{pair.get('Key') or '*'}={pair.get('Value', '')}" for pair in config.get("Values") or []]
        return f"Query {' or '.join(pairs)}"
    values = list(config.get("Values") or condition.get("Values") or [])
    regexes = [f"~/{regex}/" for regex in config.get("RegexValues") or []]
    name = _CONDITION_NAMES.get(field, field)
    if field == "http-header":
        name = f"Header {config.get('HttpHeaderName', '?')}"
    return f"{name} is {' or '.join(values + regexes)}"


def transform_text(transform: dict[str, Any]) -> str:
    """A rewrite applied before the action, e.g. ``rewrite URL ^/api/(.*) → /$1``."""
    kind = str(transform.get("Type", "?"))
    config_name = "HostHeaderRewriteConfig" if kind == "host-header-rewrite" else "UrlRewriteConfig"
    rewrites = (transform.get(config_name) or {}).get("Rewrites") or [{}]
    what = "host" if kind == "host-header-rewrite" else "URL"
    return f"rewrite {what} {rewrites[0].get('Regex', '')} → {rewrites[0].get('Replace', '')}"


def action_text(action: dict[str, Any], group_names: dict[str, str]) -> str:
    """One action, e.g. ``forward to web (80%), canary (20%)``, ``redirect to HTTPS:443 (301)``,
    ``fixed response 503``; target groups by name."""
    kind = str(action.get("Type", "?"))
    if kind == "forward":
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [
            {"TargetGroupArn": action.get("TargetGroupArn")}]
        total = sum(int(group.get("Weight", 1)) for group in groups) or 1
        names = [group_names.get(str(group.get("TargetGroupArn")), _arn_name(str(group.get("TargetGroupArn"))))
                 for group in groups]
        if len(groups) == 1:
            return f"forward to {names[0]}"
        shares = [f"{name} ({round(100 * int(group.get('Weight', 1)) / total)}%)" for name, group in zip(names, groups)]
        return "forward to " + ", ".join(shares)
    if kind == "redirect":
        config = action.get("RedirectConfig") or {}
        where = ":".join(str(config[key]) for key in ("Protocol", "Port") if key in config)
        # What is kept from the request (AWS's defaults, echoed by DescribeRules) goes without saying.
        changed = {key: str(config[key]) for key in ("Host", "Path", "Query")
                   if key in config and config[key] != _KEPT_BY_REDIRECT[key]}
        host_path = changed.get("Host", "") + changed.get("Path", "") + ("?" + changed["Query"] if "Query" in changed else "")
        code = str(config.get("StatusCode", "")).removeprefix("HTTP_")
        return f"redirect to {' '.join(part for part in (where, host_path) if part)} ({code})"
    if kind == "fixed-response":
        config = action.get("FixedResponseConfig") or {}
        return f"fixed response {config.get('StatusCode', '?')} {config.get('ContentType', '')}".rstrip()
    if kind == "authenticate-oidc":
        return f"authenticate (OIDC {(action.get('AuthenticateOidcConfig') or {}).get('Issuer', '')})"
    if kind == "authenticate-cognito":
        return "authenticate (Cognito)"
    return kind.replace("-", " ")


def _arn_name(arn: str) -> str:
    """The name inside a target group, load balancer or listener ARN (``.../targetgroup/NAME/id``)."""
    parts = arn.split(":", 5)[-1].split("/")
    return parts[2] if len(parts) > 2 else arn


def listener_label(listener_arn: str, labels: dict[str, str]) -> str:
    """``my-alb :80`` for a listener the store still has, else the load balancer's name from the ARN."""
    return labels.get(listener_arn) or _arn_name(listener_arn)


def _rule_text(record: RequestRecord) -> str:
    if record.matched_rule_priority is None:
        return "–"
    return "default" if record.matched_rule_priority == 0 else f"priority {record.matched_rule_priority}"


def _address(ip: str | None, port: int) -> str:
    if not ip:
        return "–"
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _path(url: str) -> str:
    """The URL AWS logs (``http://host:80/path?query``) without its scheme and authority."""
    after_scheme = url.split("://", 1)
    return "/" + after_scheme[1].split("/", 1)[1] if len(after_scheme) == 2 and "/" in after_scheme[1] else url


def request_row(record: RequestRecord, labels: dict[str, str], group_names: dict[str, str]) -> dict[str, Any]:
    """One recent ALB request; ``latencyMs`` is from its first byte to its last answered byte."""
    ended = record.end_time if record.end_time >= 0 else None
    return {
        "time": ended if ended is not None else record.request_creation_time,
        "listener": listener_label(record.listener_arn, labels),
        "client": _address(record.client_ip, record.client_port),
        "request": f"{record.method} {_path(record.url)}",
        "protocol": record.protocol,
        "rule": _rule_text(record),
        "actions": record.actions_executed.replace(",", ", ") or "–",
        "targetGroup": (group_names.get(record.target_group_arn, _arn_name(record.target_group_arn))
                        if record.target_group_arn != "-" else "–"),
        "target": _address(record.target_ip, record.target_port),
        "status": record.elb_status_code,
        "targetStatus": record.target_status_code,
        "latencyMs": round(1000 * (ended - record.request_creation_time), 2) if ended is not None else None,
        "error": record.error_reason if record.error_reason != "-" else "",
    }


def flow_row(record: FlowRecord, labels: dict[str, str], group_names: dict[str, str]) -> dict[str, Any]:
    """One recent NLB flow; how it ended says who reset it, if anyone did."""
    ended = record.end_time if record.end_time >= 0 else None
    resets = [who for who, reset in (("client", record.client_reset), ("target", record.target_reset),
                                     ("load balancer", record.elb_reset)) if reset]
    return {
        "time": ended if ended is not None else record.start_time,
        "listener": listener_label(record.listener_arn, labels),
        "client": _address(record.client_ip, record.client_port),
        "protocol": record.protocol,
        "targetGroup": (group_names.get(record.target_group_arn, _arn_name(record.target_group_arn))
                        if record.target_group_arn != "-" else "–"),
        "target": _address(record.target_ip, record.target_port),
        "durationMs": round(1000 * (ended - record.start_time), 2) if ended is not None else None,
        "receivedBytes": record.received_bytes,
        "sentBytes": record.sent_bytes,
        "ended": f"reset by {' and '.join(resets)}" if resets else "closed",
    }
