"""Access to botocore's elbv2 service model, the single source of truth for the wire format.

Loading the model costs a few hundred milliseconds, so it happens once, on first use.

``MODEL_EXTRAS`` holds what AWS's API has that the pinned botocore's model does not yet, merged in by
botocore's own extras mechanism (``service-2.sdk-extras.json``, found on the loader's search path):
``SourceIpConditionConfig.IpAddressType`` (``ipv4`` | ``ipv6``), the source-ip condition of NLB listener
rules (API Reference, SourceIpConditionConfig; NLB guide, "Listener rules for your Network Load Balancer",
July 2026). A client sends it once its botocore has it, or with the same directory on its search path.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import botocore.session
from botocore.model import OperationModel, ServiceModel

from emulator.errors import AwsError

SERVICE_NAME = "elbv2"
MODEL_EXTRAS = Path(__file__).with_name("model_extras")


@cache
def service_model() -> ServiceModel:
    """The elbv2 model bundled with the installed botocore, with ``MODEL_EXTRAS`` merged in."""
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.append(str(MODEL_EXTRAS))
    return session.get_service_model(SERVICE_NAME)


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
