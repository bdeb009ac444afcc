"""Every operation of the installed botocore's elbv2 model is implemented: none answers InvalidAction.

Each operation is called through boto3 with minimal, valid-looking parameters generated from the model
(ARNs of resources that don't exist, names, small numbers). Any AWS-shaped answer, success or a modeled
error like LoadBalancerNotFound, proves a handler ran; InvalidAction, a not-implemented error or a 5xx
does not.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import OperationModel, Shape
from botocore.parsers import ResponseParserError

from tests.conftest import REGION

_SESSION = boto3.session.Session()
_MODEL = _SESSION._session.get_service_model("elbv2")
_NOT_IMPLEMENTED = {"InvalidAction", "NotImplemented", "NotImplementedError", "InternalFailure", "InternalError"}
_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/missing/0123456789abcdef"


def _sample(shape: Shape, name: str) -> Any:
    """A value that satisfies the shape's type, enum and length rules."""
    if shape.type_name == "structure":
        # An empty structure would vanish on the wire: give one with no required member its first member.
        members = shape.required_members or list(shape.members)[:1]
        return {member: _sample(shape.members[member], member) for member in members}
    if shape.type_name == "list":
        return [_sample(shape.member, name)]
    if shape.type_name == "map":
        return {}
    if shape.type_name in ("integer", "long"):
        return max(shape.metadata.get("min", 1), 1)
    if shape.type_name == "boolean":
        return True
    if shape.enum:
        return shape.enum[0]
    return _ARN if "Arn" in name else "sample"


def _params(operation: OperationModel) -> dict[str, Any]:
    return _sample(operation.input_shape, operation.name) if operation.input_shape else {}


@pytest.mark.parametrize("operation_name", _MODEL.operation_names)
def test_operation_is_implemented(emulator_url: str, operation_name: str) -> None:
    client = boto3.client("elbv2", endpoint_url=emulator_url, region_name=REGION, config=Config(retries={"max_attempts": 1}))
    operation = _MODEL.operation_model(operation_name)
    method = getattr(client, _python_name(client, operation_name))
    try:
        method(**_params(operation))
    except ClientError as error:
        code = error.response["Error"]["Code"]
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        assert code not in _NOT_IMPLEMENTED, f"{operation_name} answered {code}"
        assert status < 500 or code in ("HealthUnavailable", "InsufficientCapacity"), f"{operation_name}: {status} {code}"
    except ResponseParserError as error:
        pytest.fail(f"{operation_name} answered something that is not an AWS response (a crash?): {error}")


def _python_name(client: Any, operation_name: str) -> str:
    return next(py for py, api in client.meta.method_to_api_mapping.items() if api == operation_name)
