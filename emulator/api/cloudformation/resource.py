"""The base of the emulator's CloudFormation resource types: what moto's CloudFormation asks of a resource.

moto's stack engine (``moto.cloudformation.parsing``) creates a resource with the class method
``create_from_cloudformation_json``, updates it with ``update_from_cloudformation_json`` (which returns the
resource that now stands for the logical ID), deletes it with the instance's ``delete`` and resolves
``Ref`` with ``physical_resource_id`` and ``Fn::GetAtt`` with ``get_cfn_attribute``. Each type says which
properties need a new resource when they change ("Update requires: Replacement" in the CloudFormation
template reference); a change to any other property updates the resource in place through the API's
Modify/Set calls. Calls go through ``Elbv2Client``: the API's own path, so nothing reaches moto's ELBv2.

The instances are plain data (account, region, physical ID, resolved properties and a few IDs) so that
moto's stacks stay picklable for ``--state-dir``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError

from emulator.api.cloudformation.calls import Elbv2Client, Elbv2Invoker, not_found
from emulator.errors import AwsError, validation_error

_NAME_LENGTH = 32  # load balancer, target group and trust store names (API Reference: "maximum of 32 characters")


class _Api:
    """The endpoint stacks call (one per process: moto's resource registry is process-wide too)."""

    invoker: Elbv2Invoker | None = None


def use_invoker(invoker: Elbv2Invoker) -> None:
    _Api.invoker = invoker


def client(account: str, region: str) -> Elbv2Client:
    if _Api.invoker is None:
        raise RuntimeError("the CloudFormation resources are not installed")  # a bug: install() runs first
    return Elbv2Client(_Api.invoker, account, region)


class Elbv2Resource:
    """One stack resource of an ``AWS::ElasticLoadBalancingV2::*`` type, held by the emulator's store."""

    TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str] = ""  # the property that names the resource ("" when it has none)
    PROPERTIES: ClassVar[frozenset[str]]  # the type's properties in the template reference
    REPLACING: ClassVar[frozenset[str]] = frozenset()  # properties whose change needs a new resource
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()  # what Fn::GetAtt returns
    managed_tags: dict[str, str] = {}  # (a resource restored from an older state has none; never mutated)

    def __init__(self, account: str, region: str, physical_id: str, properties: dict[str, Any]) -> None:
        self.account = account
        self.region = region
        self.physical_id = physical_id
        self.properties = properties
        # Set by moto once created: what DescribeStackResources reports.
        self.cf_resource_type = self.TYPE
        self.logical_resource_id = ""
        # The tags CloudFormation puts on what it creates (``stack_tags``): kept when the template's Tags change.
        self.managed_tags: dict[str, str] = {}

    # -- what moto asks of every resource type

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return self.attribute(client(self.account, self.region), attribute_name)

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Elbv2Resource:
        properties = cls._checked(_properties(cloudformation_json))
        api = client(account_id, region_name)
        resource = cls._create(api, resource_name, properties)
        if "Tags" in cls.PROPERTIES:
            resource.managed_tags = stack_tags(account_id, region_name, kwargs.get("StackId"), kwargs.get("LogicalId"))
            _tag(api, resource)
        return resource

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Elbv2Resource, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> Elbv2Resource:
        new = cls._checked(_properties(cloudformation_json))
        old = original_resource.properties
        changed = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
        api = client(account_id, region_name)
        if changed & cls.REPLACING:
            if cls.NAME_PROPERTY and new.get(cls.NAME_PROPERTY) and old.get(cls.NAME_PROPERTY) == new.get(cls.NAME_PROPERTY):
                # CloudFormation's own refusal: the new resource would need the name the old one still holds.
                raise ValidationError(message=(
                    "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
                    f"Rename {new[cls.NAME_PROPERTY]} and update the stack again."))
            replacement = cls._create(api, new_resource_name, new)
            replacement.managed_tags = original_resource.managed_tags
            _tag(api, replacement)
            _retire(original_resource, replacement)
            return replacement
        original_resource.configure(api, new, changed)
        original_resource.properties = new
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls(account_id, region_name, resource_name, _properties(cloudformation_json)).delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            self.remove(client(account_id, region_name))
        except AwsError as error:
            if not not_found(error):  # already gone (a load balancer's deletion takes its listeners along)
                raise

    @classmethod
    def _checked(cls, properties: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(properties) - cls.PROPERTIES)
        if unknown:  # CloudFormation's template validation wording
            raise validation_error(f"Encountered unsupported property {unknown[0]}")
        return properties

    # -- what each type implements

    @classmethod
    def _create(cls, api: Elbv2Client, name: str, properties: dict[str, Any]) -> Elbv2Resource:
        """Create the resource with its first call, then the rest of its properties; a failure in the rest
        removes what the first call made: a failed resource leaves nothing behind."""
        resource = cls.make(api, name, properties)
        try:
            resource.configure(api, properties, None)
        except Exception:
            resource.delete(api.account, api.region)
            raise
        return resource

    @classmethod
    def make(cls, api: Elbv2Client, name: str, properties: dict[str, Any]) -> Elbv2Resource:
        raise NotImplementedError

    def configure(self, api: Elbv2Client, properties: dict[str, Any], changed: set[str] | None) -> None:
        """Apply the properties the first call does not take, or (``changed``: the ones that differ) an
        update in place."""

    def remove(self, api: Elbv2Client) -> None:
        raise NotImplementedError

    def attribute(self, api: Elbv2Client, name: str) -> Any:
        raise NotImplementedError


Replacement = tuple["Elbv2Resource", "Elbv2Resource"]  # (the old resource, the one that replaced it)


class _Replaced(threading.local):
    """The resources an update replaced, kept until its clean-up phase (``replacing``) on this thread."""

    pending: list[Replacement] | None = None


_REPLACED = _Replaced()


def stack_tags(account: str, region: str, stack_id: str | None, logical_id: str | None) -> dict[str, str]:
    """What CloudFormation tags a resource it creates with: the stack's own tags, and ``aws:cloudformation:``
    stack-name, stack-id and logical-id ("Resource tag" in the CloudFormation User Guide)."""
    if not stack_id:
        return {}
    from moto.cloudformation.models import cloudformation_backends

    stack = cloudformation_backends[account][region].stacks.get(stack_id)
    tags = dict(getattr(stack, "tags", None) or {}) if stack is not None else {}
    name = stack.name if stack is not None else stack_id.split("/")[1] if "/" in stack_id else ""
    tags.update({"aws:cloudformation:stack-name": name, "aws:cloudformation:stack-id": stack_id})
    if logical_id:
        tags["aws:cloudformation:logical-id"] = logical_id
    return tags


def _tag(api: Elbv2Client, resource: Elbv2Resource) -> None:
    if resource.managed_tags:
        api.call("AddTags", ResourceArns=[resource.physical_id],
                 Tags=[{"Key": key, "Value": value} for key, value in resource.managed_tags.items()])


def _retire(old: Elbv2Resource, new: Elbv2Resource) -> None:
    if _REPLACED.pending is None:
        old.delete(old.account, old.region)
    else:
        _REPLACED.pending.append((old, new))


@contextmanager
def replacing() -> Iterator[list[Replacement]]:
    """While a stack updates: the resources replaced meanwhile are collected, not deleted. AWS deletes them in
    the update's clean-up phase, once the resources that referred to them refer to their replacements (a
    target group in use by a listener cannot be deleted before)."""
    pending: list[Replacement] = []
    _REPLACED.pending = pending
    try:
        yield pending
    finally:
        _REPLACED.pending = None


def _properties(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    return dict(cloudformation_json.get("Properties") or {})


def pick(properties: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: properties[name] for name in names if name in properties}


def wants(changed: set[str] | None, properties: dict[str, Any], *names: str) -> bool:
    """Whether a create sets one of ``names`` or an update changes one."""
    if changed is None:
        return any(name in properties for name in names)
    return any(name in changed for name in names)


def fitted_name(name: str) -> str:
    """A generated ``stack-LogicalId-SUFFIX`` name cut to the 32 characters ELBv2 names may have, its random
    suffix kept (as CloudFormation names load balancers and target groups)."""
    if len(name) <= _NAME_LENGTH:
        return name
    head, _, suffix = name.rpartition("-")
    return f"{head[: _NAME_LENGTH - len(suffix) - 1].rstrip('-')}-{suffix}"


def list_changes(new: list[Any], old: list[Any]) -> tuple[list[Any], list[Any]]:
    """(what ``new`` adds, what it drops) against ``old``: a list property changed in place item by item."""
    return [item for item in new if item not in old], [item for item in old if item not in new]


def update_tags(api: Elbv2Client, arn: str, properties: dict[str, Any], changed: set[str] | None,
                kept: dict[str, str]) -> None:
    """Tags changed in place (the create call takes them: nothing to do on create); ``kept``: the stack's own
    tags on the resource, which stay."""
    if changed is None or "Tags" not in changed:
        return
    tags = {tag["Key"]: tag.get("Value", "") for tag in properties.get("Tags") or []}
    described = api.call("DescribeTags", ResourceArns=[arn])["TagDescriptions"]
    current = {tag["Key"]: tag.get("Value", "") for tag in described[0].get("Tags", [])} if described else {}
    removed = [key for key in current if key not in tags and key not in kept]
    if removed:
        api.call("RemoveTags", ResourceArns=[arn], TagKeys=removed)
    if tags:
        api.call("AddTags", ResourceArns=[arn], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

