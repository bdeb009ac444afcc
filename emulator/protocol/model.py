"""Access to botocore's elbv2 service model, the single source of truth for the wire format.

Loading the model costs a few hundred milliseconds, so it happens once, on first use.
"""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.model import OperationModel, ServiceModel

from emulator.errors import AwsError

SERVICE_NAME = "elbv2"


@cache
def service_model() -> ServiceModel:
    """The elbv2 model bundled with the installed botocore."""
    return botocore.session.get_session().get_service_model(SERVICE_NAME)


def api_version() -> str:
    return service_model().metadata["apiVersion"]


def xml_namespace() -> str:
    return service_model().metadata["xmlNamespace"]


@cache
def _operation_set() -> frozenset[str]:
    return frozenset(service_model().operation_names)


def operation_names() -> list[str]:
    """All elbv2 operation names (e.g. ``CreateLoadBalancer``); a fresh list the caller may keep."""
    return list(service_model().operation_names)


def operation_model(operation: str) -> OperationModel:
    """The model of ``operation``; an unknown name is AWS's ``InvalidAction``."""
    if operation not in _operation_set():
        raise AwsError(
            "InvalidAction",
            f"Could not find operation {operation} for version {api_version()}",
            400,
        )
    return service_model().operation_model(operation)
