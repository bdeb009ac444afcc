"""What moto's CloudFormation leaves out and a stack's users rely on: resource events and rollback.

moto 5.2 records only the stack's own events, and a resource that fails to create escapes CreateStack as
an error, leaving the stack CREATE_IN_PROGRESS with whatever was made before it. AWS answers CreateStack at
once and then, per the CloudFormation User Guide ("Stack failure options", "Stack status codes"):
the failed resource's event is CREATE_FAILED with the service's error message as its reason, the stack
goes ROLLBACK_IN_PROGRESS, deletes every resource it made, and ends ROLLBACK_COMPLETE. This module wraps
moto's resource creation and deletion (``moto.cloudformation.parsing``) and its stack creation
(``moto.cloudformation.models.Stack``, and ExecuteChangeSet) to do the same, for every resource type (moto's own too).

An update that fails is answered as a ValidationError carrying the same reason (after the resource's
UPDATE_FAILED event); moto does not roll an update back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from moto.cloudformation import models, parsing
from moto.cloudformation.exceptions import ValidationError

from emulator.errors import AwsError

_FAILED_ATTRIBUTE = "_stack_failed_resource"  # set on an exception: the logical ID whose event reports it


def install() -> None:
    """Wrap moto's functions once (idempotent: the wrappers are marked)."""
    if getattr(parsing.parse_and_create_resource, "_emulator_wrapped", False):
        return
    parsing.parse_and_create_resource = _reporting_create(parsing.parse_and_create_resource)
    parsing.parse_and_update_resource = _reporting_update(parsing.parse_and_update_resource)
    # Methods of moto's classes, replaced on the class.
    parsing.ResourceMap._delete_resource = _reporting_delete(parsing.ResourceMap._delete_resource)  # type: ignore[method-assign]
    models.Stack.create_resources = _rolling_back(models.Stack.create_resources)  # type: ignore[method-assign, assignment]
    models.Stack.update = _answering_update(models.Stack.update)  # type: ignore[method-assign]
    backend = models.CloudFormationBackend
    backend.execute_change_set = _executing(backend.execute_change_set)  # type: ignore[method-assign]


def reason(error: BaseException) -> str:
    """The event's ResourceStatusReason: for an ELBv2 error, in CloudFormation's resource-handler form."""
    if isinstance(error, AwsError):
        return (f'Resource handler returned message: "{error.message}" (Service: ElasticLoadBalancingV2, '
                f"Status Code: {error.status}, Request ID: {uuid.uuid4()})")
    return str(getattr(error, "message", None) or error)


def _stack(resources: Any) -> Any:
    backend = models.cloudformation_backends[resources._account_id][resources._region_name]
    return backend.stacks.get(resources.stack_id)


def _event(resources: Any, logical_id: str, resource_type: str, status: str, physical_id: str = "",
           status_reason: str | None = None) -> None:
    stack = _stack(resources)
    if stack is None:
        return
    stack.events.append(models.Event(
        stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
        physical_resource_id=physical_id, resource_type=resource_type, resource_status=status,
        resource_status_reason=status_reason, resource_properties=None,
    ))


def _physical_id(resource: Any) -> str:
    return str(getattr(resource, "physical_resource_id", "") or "")


def _reporting_create(create: Callable[..., Any]) -> Callable[..., Any]:
    def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any], resources: Any,
                                  account_id: str, region_name: str) -> Any:
        kind = resource_json.get("Type", "")
        try:
            resource = create(logical_id, resource_json, resources, account_id, region_name)
        except Exception as error:
            # A resource this one refers to is created while this one's properties are resolved: only the
            # innermost failure is this resource's own.
            if not hasattr(error, _FAILED_ATTRIBUTE):
                setattr(error, _FAILED_ATTRIBUTE, logical_id)
                _event(resources, logical_id, kind, "CREATE_IN_PROGRESS")
                _event(resources, logical_id, kind, "CREATE_FAILED", status_reason=reason(error))
            raise
        if resource is not None:
            _event(resources, logical_id, kind, "CREATE_IN_PROGRESS")
            _event(resources, logical_id, kind, "CREATE_COMPLETE", _physical_id(resource))
        return resource

    parse_and_create_resource._emulator_wrapped = True  # type: ignore[attr-defined]
    return parse_and_create_resource


def _reporting_update(update: Callable[..., Any]) -> Callable[..., Any]:
    def parse_and_update_resource(logical_id: str, resource_json: dict[str, Any], resources: Any,
                                  account_id: str, region_name: str) -> Any:
        kind = resource_json.get("Type", "")
        try:
            resource = update(logical_id, resource_json, resources, account_id, region_name)
        except Exception as error:
            if not hasattr(error, _FAILED_ATTRIBUTE):
                setattr(error, _FAILED_ATTRIBUTE, logical_id)
                _event(resources, logical_id, kind, "UPDATE_FAILED", status_reason=reason(error))
            raise
        _event(resources, logical_id, kind, "UPDATE_COMPLETE", _physical_id(resource))
        return resource

    return parse_and_update_resource


def _reporting_delete(delete: Callable[..., None]) -> Callable[..., None]:
    def _delete_resource(resources: Any, resource: Any, resource_json: dict[str, Any]) -> None:
        delete(resources, resource, resource_json)  # a failure is retried by moto in its next pass
        logical_id, kind = getattr(resource, "logical_resource_id", ""), resource_json.get("Type", "")
        _event(resources, logical_id, kind, "DELETE_COMPLETE", _physical_id(resource))

    return _delete_resource


def _roll_back(stack: Any, error: Exception) -> None:
    """A failed create: delete what was made, and say so in the stack's events and status."""
    failed = getattr(error, _FAILED_ATTRIBUTE, None)
    why = (f"The following resource(s) failed to create: [{failed}]. Rollback requested by user."
           if failed else reason(error))
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=why)
    try:
        stack.resource_map.delete()
    except Exception as cleanup:
        stack.status = "ROLLBACK_FAILED"
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=reason(cleanup))
        return
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


def _rolling_back(create_resources: Callable[[Any], None]) -> Callable[[Any], None]:
    def create_resources_or_roll_back(stack: Any) -> None:
        try:
            create_resources(stack)
        except Exception as error:
            _roll_back(stack, error)

    return create_resources_or_roll_back


def _executing(execute_change_set: Callable[..., None]) -> Callable[..., None]:
    """ExecuteChangeSet (what ``aws cloudformation deploy`` and the CDK CLI use): a failed CREATE change set
    rolls its stack back; a failed UPDATE one is answered as a ValidationError with the resource's reason."""

    def execute_or_roll_back(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = backend.change_sets.get(change_set_name) or next(
            (cs for cs in backend.change_sets.values() if cs.change_set_name == change_set_name), None)
        try:
            execute_change_set(backend, change_set_name, stack_name)
        except Exception as error:
            if change_set is None:
                raise
            change_set.execution_status = "EXECUTE_FAILED"
            if change_set.change_set_type != "CREATE":
                raise _refusal(error) from error
            _roll_back(change_set.stack, error)

    return execute_or_roll_back


def _refusal(error: Exception) -> Exception:
    return ValidationError(message=reason(error)) if isinstance(error, AwsError) else error


def _answering_update(update: Callable[..., None]) -> Callable[..., None]:
    def update_or_refuse(stack: Any, *args: Any, **kwargs: Any) -> None:
        try:
            update(stack, *args, **kwargs)
        except AwsError as error:  # otherwise an InternalFailure: the caller sees what the resource refused
            raise _refusal(error) from error

    return update_or_refuse
