"""Validation of rule ``Transforms`` (ALB guide, "Transforms for listener rules"; API_RuleTransform).

A rule has at most one ``host-header-rewrite`` and one ``url-rewrite``; each carries the config named for
its type, and only that one. Regexes have the restrictions of condition RegexValues; Regex and Replace are
at most 1,024 characters (API_RewriteConfig). Message wording is
inferred unless noted (see ``emulator.errors``).
"""

from __future__ import annotations

from typing import Any

from emulator.control.conditions import check_regex
from emulator.errors import validation_error

CONFIG_OF = {"host-header-rewrite": "HostHeaderRewriteConfig", "url-rewrite": "UrlRewriteConfig"}
_MAX_LENGTH = 1024


def normalise_transforms(transforms: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The transforms as stored and echoed (None when there are none), after every check."""
    if not transforms:
        return None
    types = [transform["Type"] for transform in transforms]
    for kind in CONFIG_OF:
        if types.count(kind) > 1:
            raise validation_error(f"A rule can only have one '{kind}' transform")
    return [_checked(transform) for transform in transforms]


def _checked(transform: dict[str, Any]) -> dict[str, Any]:
    kind = transform["Type"]
    config_name = CONFIG_OF[kind]
    for other in CONFIG_OF.values():
        if other != config_name and other in transform:
            # API_RuleTransform: each config is "Specify only when Type is ..."
            raise validation_error(f"A '{other}' cannot be specified with the '{kind}' transform type")
    rewrites = (transform.get(config_name) or {}).get("Rewrites") or []
    if len(rewrites) != 1:
        raise validation_error(f"A '{kind}' transform must have exactly one rewrite")
    for rewrite in rewrites:
        for member in ("Regex", "Replace"):
            if len(rewrite[member]) > _MAX_LENGTH:
                raise validation_error(f"The rewrite {member.lower()} cannot be longer than '{_MAX_LENGTH}' characters")
        check_regex(rewrite["Regex"])
    return {"Type": kind, config_name: {"Rewrites": [{"Regex": r["Regex"], "Replace": r["Replace"]} for r in rewrites]}}
