"""Stack updates that replace a resource: what referred to it follows, and the old one goes last.

CloudFormation's update creates the replacement, updates every resource that refers to it (its ``Ref`` or
``Fn::GetAtt`` now resolves to the new resource), and deletes the old one in its clean-up phase (User Guide,
"Update behaviors of stack resources"). moto's update only revisits resources whose template text changed, so a
listener forwarding to a replaced target group would keep the old ARN, and the old group, still in use, could
not be deleted. This wraps moto's ``ResourceMap.update``: the emulator's resources that refer to a replaced
resource are updated too (transitively: a replaced listener brings its rules along), and the replaced resources
are deleted after that. If the update fails, the replacements are deleted instead and the old resources stay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing

from emulator.api.cloudformation.resource import Elbv2Resource, replacing
from emulator.errors import AwsError

log = logging.getLogger("elbv2_emulator.cloudformation")


def install() -> None:
    if not getattr(parsing.ResourceMap.update, "_emulator_wrapped", False):
        parsing.ResourceMap.update = _following(parsing.ResourceMap.update)  # type: ignore[method-assign]


def _following(update: Callable[..., None]) -> Callable[..., None]:
    def update_then_follow_replacements(resources: Any, template: dict[str, Any], parameters: Any = None) -> None:
        with replacing() as replaced:
            try:
                update(resources, template, parameters)
                _update_dependents(resources, {old.logical_resource_id for old, _ in replaced})
            except Exception:
                # The update fails: its replacements go and the resources they replaced stay in the stack
                # (what AWS's rollback does for them; changes made in place are not undone).
                for old, new in reversed(replaced):
                    _delete(new)
                    resources._parsed_resources[old.logical_resource_id] = old
                raise
            for old, _ in replaced:  # the clean-up phase
                _delete(old)

    update_then_follow_replacements._emulator_wrapped = True  # type: ignore[attr-defined]
    return update_then_follow_replacements


def _delete(resource: Elbv2Resource) -> None:
    try:
        resource.delete(resource.account, resource.region)
    except AwsError:
        log.warning("could not delete %s %s", resource.TYPE, resource.physical_id, exc_info=True)


def _update_dependents(resources: Any, replaced: set[str]) -> None:
    template: dict[str, Any] = resources._resource_json_map
    models = parsing.get_model_map()
    visited = set(replaced)
    while replaced:
        followers = [
            logical_id for logical_id, resource_json in template.items()
            if logical_id not in visited and _refers_to(resource_json.get("Properties"), replaced)
            and issubclass(models.get(resource_json.get("Type", ""), object), Elbv2Resource)
        ]
        replaced = set()
        for logical_id in followers:
            visited.add(logical_id)
            before = resources._parsed_resources.get(logical_id)
            after = parsing.parse_and_update_resource(
                logical_id, template[logical_id], resources, resources._account_id, resources._region_name)
            resources._parsed_resources[logical_id] = after
            if after is not before:  # replaced in turn (a rule whose listener was replaced)
                replaced.add(logical_id)


def _refers_to(value: Any, logical_ids: set[str]) -> bool:
    """Whether a template value refers to one of ``logical_ids`` (Ref, Fn::GetAtt, or Fn::Sub's ``${Id}``)."""
    if isinstance(value, list):
        return any(_refers_to(item, logical_ids) for item in value)
    if not isinstance(value, dict):
        return False
    if value.get("Ref") in logical_ids:
        return True
    target = value.get("Fn::GetAtt")
    if target is not None:
        name = target[0] if isinstance(target, list) else str(target).split(".", 1)[0]
        if name in logical_ids:
            return True
    sub = value.get("Fn::Sub")
    text = sub[0] if isinstance(sub, list) else sub
    if isinstance(text, str) and any(f"${{{logical_id}" in text for logical_id in logical_ids):
        return True
    return any(_refers_to(item, logical_ids) for item in value.values())
