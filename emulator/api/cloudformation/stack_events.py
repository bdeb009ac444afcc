"""What moto's CloudFormation leaves out and a stack's users rely on: resource events and rollback.

moto 5.2 records only the stack's own events, and a resource that fails to create escapes CreateStack as
an error, leaving the stack CREATE_IN_PROGRESS with whatever was made before it. AWS answers CreateStack at
once and then, per the CloudFormation User Guide ("Stack failure options", "Stack status codes"):
the failed resource's event is CREATE_FAILED with the service's error message as its reason, the stack
goes ROLLBACK_IN_PROGRESS, deletes every resource it made, and ends ROLLBACK_COMPLETE (CreateStack's OnFailure
DO_NOTHING keeps them, CREATE_FAILED; DELETE deletes the stack too). This module wraps
moto's resource creation and deletion (``moto.cloudformation.parsing``) and its stack creation
(``moto.cloudformation.models.Stack``, and ExecuteChangeSet) to do the same, for every resource type (moto's own too).

An update that fails is rolled back as AWS rolls it back ("Stack status codes": UPDATE_ROLLBACK_IN_PROGRESS,
then UPDATE_ROLLBACK_COMPLETE): the failed resource's event is UPDATE_FAILED with the service's message, and the
previous template is applied again, so what the update had changed in place is changed back and what it had
added is deleted. UpdateStack and ExecuteChangeSet answer as on AWS, before the outcome shows in the stack's
status and events (here the outcome is already there when they answer).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from moto.cloudformation import models, parsing, responses

from emulator.errors import AwsError

_FAILED_ATTRIBUTE = "_stack_failed_resource"  # set on an exception: the logical ID whose event reports it


class _Creating(threading.local):
    """CreateStack's OnFailure (ROLLBACK, DELETE or DO_NOTHING; DisableRollback means DO_NOTHING), for the
    stack being created on this thread (moto creates its resources within the call)."""

    on_failure = "ROLLBACK"


_CREATING = _Creating()


def install() -> None:
    """Wrap moto's functions once (idempotent: the wrappers are marked)."""
    if getattr(parsing.parse_and_create_resource, "_emulator_wrapped", False):
        return
    parsing.parse_and_create_resource = _reporting_create(parsing.parse_and_create_resource)
    parsing.parse_and_update_resource = _reporting_update(parsing.parse_and_update_resource)
    # Methods of moto's classes, replaced on the class.
    parsing.ResourceMap._delete_resource = _reporting_delete(parsing.ResourceMap._delete_resource)  # type: ignore[method-assign]
    models.Stack.create_resources = _rolling_back(models.Stack.create_resources)  # type: ignore[method-assign, assignment]
    responses.CloudFormationResponse.create_stack = _reading_on_failure(  # type: ignore[method-assign, assignment]
        responses.CloudFormationResponse.create_stack)
    models.Stack.update = _rolling_back_update(models.Stack.update)  # type: ignore[method-assign]
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
            on_failure = _CREATING.on_failure
            if on_failure == "DO_NOTHING":  # what was made stays, for the user to look at
                stack.status = "CREATE_FAILED"
                stack._add_stack_event("CREATE_FAILED", resource_status_reason=reason(error))
                return
            _roll_back(stack, error)
            if on_failure == "DELETE" and stack.status == "ROLLBACK_COMPLETE":
                models.cloudformation_backends[stack.account_id][stack.region_name].delete_stack(stack.stack_id)

    return create_resources_or_roll_back


def _reading_on_failure(create_stack: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """CreateStack's OnFailure and DisableRollback, which moto does not read ("CreateStack", API Reference)."""

    def create_stack_reading_on_failure(response: Any) -> Any:
        disabled = str(response._get_param("DisableRollback", "false")).lower() == "true"
        _CREATING.on_failure = response._get_param("OnFailure") or ("DO_NOTHING" if disabled else "ROLLBACK")
        try:
            return create_stack(response)
        finally:
            _CREATING.on_failure = "ROLLBACK"

    return create_stack_reading_on_failure


def _parameters_now(stack: Any) -> dict[str, str]:
    """The stack's parameter values, defaults included: moto compares an update's parameters with those it was
    given, so a rollback must name the defaults it had used as well."""
    values = {name: str(value) for name, value in (stack.resource_map.input_parameters or {}).items()}
    for name, declared in (stack.template_dict.get("Parameters") or {}).items():
        if name not in values and isinstance(declared, dict) and "Default" in declared:
            values[name] = str(declared["Default"])
    return values


def _roll_back_update(stack: Any, previous: tuple[str, dict[str, Any]], error: Exception) -> None:
    """A failed update: apply the previous template (and parameters) again, and say so."""
    failed = getattr(error, _FAILED_ATTRIBUTE, None)
    why = (f"The following resource(s) failed to update: [{failed}]." if failed else reason(error))
    stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=why)
    template, parameters = previous
    try:
        stack.template = template
        stack._parse_template()
        stack.resource_map.update(stack.template_dict, parameters)
        stack.output_map = stack._create_output_map()
    except Exception as cleanup:
        stack.status = "UPDATE_ROLLBACK_FAILED"
        stack._add_stack_event("UPDATE_ROLLBACK_FAILED", resource_status_reason=reason(cleanup))
        return
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")


def _rolling_back_update(update: Callable[..., None]) -> Callable[..., None]:
    def update_or_roll_back(stack: Any, *args: Any, **kwargs: Any) -> None:
        previous = (stack.template, _parameters_now(stack))
        try:
            update(stack, *args, **kwargs)
        except Exception as error:
            _roll_back_update(stack, previous, error)

    return update_or_roll_back


def _executing(execute_change_set: Callable[..., None]) -> Callable[..., None]:
    """ExecuteChangeSet (what ``aws cloudformation deploy`` and the CDK CLI use): a failed CREATE change set
    rolls its stack back, a failed UPDATE one rolls the update back."""

    def execute_or_roll_back(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = backend.change_sets.get(change_set_name) or next(
            (cs for cs in backend.change_sets.values() if cs.change_set_name == change_set_name), None)
        stack = backend.stacks.get(change_set.stack_id) if change_set is not None else None
        previous = (stack.template, _parameters_now(stack)) if stack is not None else None
        try:
            execute_change_set(backend, change_set_name, stack_name)
        except Exception as error:
            if change_set is None or stack is None or previous is None:
                raise
            change_set.execution_status = "EXECUTE_FAILED"
            if change_set.change_set_type == "CREATE":
                _roll_back(stack, error)
            else:
                _roll_back_update(stack, previous, error)

    return execute_or_roll_back


