"""A rule's transforms: ``host-header-rewrite`` and ``url-rewrite`` (AWS "Transforms for listener rules",
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-transforms.html), applied after the
rule matched and before its actions.
"""

from __future__ import annotations

import re

from emulator.dataplane.alb.request import Request


def _replacement(replace: str) -> str:
    """AWS writes capture references as ``$1``; Python's ``re.sub`` as ``\\g<1>``."""
    return re.sub(r"\$(\d+)", r"\\g<\1>", replace.replace("\\", "\\\\"))


class Transform:
    """A rule's ``host-header-rewrite`` and ``url-rewrite`` transforms (first matching rewrite of each)."""

    __slots__ = ("host", "url")

    def __init__(self, transforms: list[dict]) -> None:
        self.host: list[tuple[re.Pattern[str], str]] = []
        self.url: list[tuple[re.Pattern[str], str]] = []
        for transform in transforms:
            config = transform.get("HostHeaderRewriteConfig") or transform.get("UrlRewriteConfig") or {}
            into = self.host if transform.get("Type") == "host-header-rewrite" else self.url
            into += [(re.compile(r["Regex"]), _replacement(r["Replace"])) for r in config.get("Rewrites") or []]

    def apply(self, request: Request) -> None:
        for pattern, replace in self.host:
            if pattern.search(request.host):
                request.host = pattern.sub(replace, request.host, count=1)
                break
        for pattern, replace in self.url:
            if pattern.search(request.path):  # the path only; the query string is kept (the emulator's reading)
                query = request.query
                path = pattern.sub(replace, request.path, count=1)
                request.rewrite_url((path + ("?" + query if query else "")).encode("latin-1"))
                break
