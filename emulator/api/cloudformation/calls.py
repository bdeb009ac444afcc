"""ELBv2 calls made on behalf of a stack: template properties in, the API's own call path, its result out.

A template's values are loosely typed (YAML gives ``80`` or ``"80"``, ``true`` or ``"true"``), so each
value is first coerced to the type the elbv2 model gives its member, then encoded as the Query form fields
an SDK would send (botocore's ``QuerySerializer``), and run through ``Elbv2Endpoint.invoke``: the same
parsing, validation, handler, defaults, persistence and data-plane wait as an API call.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Protocol

from botocore.model import Shape
from botocore.serialize import QuerySerializer

from emulator.errors import AwsError, validation_error
from emulator.protocol.model import operation_model


class Elbv2Invoker(Protocol):
    """What a stack needs of the API: run one call (``emulator.api.elbv2.Elbv2Endpoint.invoke``)."""

    def invoke(
        self, operation: str, form: Mapping[str, str], account: str, region: str, endpoint_url: str = ""
    ) -> dict[str, Any] | None: ...


class Elbv2Client:
    """Runs elbv2 operations for one account and region with template-typed parameters."""

    def __init__(self, invoker: Elbv2Invoker, account: str, region: str) -> None:
        self._invoker = invoker
        self.account = account
        self.region = region

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        model = operation_model(operation)
        typed = _coerce(model.input_shape, {k: v for k, v in params.items() if v is not None}, "") if model.input_shape else {}
        form = {key: str(value) for key, value in _serializer().serialize_to_request(typed, model)["body"].items()}
        return self._invoker.invoke(operation, form, self.account, self.region) or {}


def _coerce(shape: Shape, value: Any, path: str) -> Any:
    """``value`` as the Python type botocore's serializer expects for ``shape``."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise validation_error(f"Property {path or 'Properties'} must be an object")  # wording inferred
        members = shape.members
        unknown = sorted(set(value) - set(members))
        if unknown:
            # CloudFormation's template validation wording for a property the type does not have.
            raise validation_error(f"Encountered unsupported property {unknown[0]}")
        return {name: _coerce(members[name], item, f"{path}.{name}".lstrip(".")) for name, item in value.items()}
    if kind == "list":
        if not isinstance(value, list):
            raise validation_error(f"Property {path} must be a list")  # wording inferred
        return [_coerce(shape.member, item, f"{path}.{index}") for index, item in enumerate(value, 1)]
    if kind == "map":
        if not isinstance(value, dict):
            raise validation_error(f"Property {path} must be an object")  # wording inferred
        return {str(key): _coerce(shape.value, item, f"{path}.{key}") for key, item in value.items()}
    if kind == "boolean":
        return _boolean(value, path)
    if kind in ("integer", "long"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise validation_error(f"Property {path} must be an integer, got {value!r}") from None  # wording inferred
    if kind in ("double", "float"):
        return float(value)
    if isinstance(value, bool):  # a YAML boolean where the model has a string ("Value: true")
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise validation_error(f"Property {path} must be a string")  # wording inferred
    return str(value)


def _boolean(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "false"):
        return text == "true"
    raise validation_error(f"Property {path} must be a boolean, got {value!r}")  # wording inferred


@cache
def _serializer() -> QuerySerializer:
    return QuerySerializer()


def not_found(error: AwsError) -> bool:
    """Whether a delete found nothing to delete: CloudFormation then counts the resource as deleted."""
    return error.code.endswith("NotFound") or error.code.endswith("NotFoundException")

