"""One elbv2 API call, from decoded form fields to the status and XML body AWS would answer.

Errors are AWS's error documents, never a bare 500: bad input is an ``AwsError`` raised by the protocol
layer or a handler, and anything else is a bug answered as AWS's ``InternalFailure`` (AWS "Common Errors":
"The request processing has failed because of an unknown error, exception or failure", HTTP 500) and
logged with its traceback.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from emulator import protocol
from emulator.api.identity import Caller
from emulator.control.context import Result, Services
from emulator.control.dispatch import handle
from emulator.dataplane.reads import READS as DATA_PLANE_READS
from emulator.errors import AwsError

log = logging.getLogger("elbv2_emulator.api")

ELBV2_VERSION = "2015-12-01"
_INTERNAL_FAILURE = "The request processing has failed because of an unknown error, exception or failure."


class DataPlaneView(Protocol):
    """What the API needs of the data plane (kept abstract: the API never touches sockets)."""

    def listener_report(self) -> list[dict[str, Any]]: ...

    def wait_applied(self, generation: int, timeout: float = 5.0) -> bool: ...

    def refresh(self, timeout: float = 5.0) -> bool: ...  # a change outside the store (EC2): applied on return

    def reset(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    request_id: str


def error_reply(error: AwsError, request_id: str | None = None) -> Reply:
    """AWS's ``ErrorResponse`` document for ``error``, with the status its code has."""
    request_id = request_id or str(uuid.uuid4())
    return Reply(error.status, protocol.serialize_error(error, request_id), request_id)


def internal_failure(what: str, request_id: str | None = None) -> Reply:
    """AWS's answer to a bug; called from an ``except`` block, the traceback is logged too."""
    request_id = request_id or str(uuid.uuid4())
    log.error("%s failed (request %s)", what, request_id, exc_info=sys.exc_info()[0] is not None)
    return error_reply(AwsError("InternalFailure", _INTERNAL_FAILURE, 500), request_id)


def needs_data_plane(changed_kinds: frozenset[str]) -> bool:
    """Whether a call that changed resources of these kinds must wait for the data plane before answering:
    when the data plane is built from one of them (``emulator.dataplane.reads.READS``). Reads, and writes
    of what it never reads (capacity reservations), answer at once: waiting costs ~0.6 ms per write."""
    return not changed_kinds.isdisjoint(DATA_PLANE_READS)


class Elbv2Endpoint:
    """Runs elbv2 calls against the control plane and waits for the data plane where it matters."""

    def __init__(self, services: Services, dataplane: DataPlaneView) -> None:
        self._services = services
        self._dataplane = dataplane

    def call(self, form: Mapping[str, str], who: Caller, endpoint_url: str) -> Reply:
        request_id = str(uuid.uuid4())
        operation = form["Action"]
        try:
            body = self._run(operation, form, who, endpoint_url, request_id)
            return Reply(200, body, request_id)
        except AwsError as error:
            return error_reply(error, request_id)
        except Exception:
            return internal_failure(operation, request_id)

    def _run(self, operation: str, form: Mapping[str, str], who: Caller, endpoint_url: str, request_id: str) -> bytes:
        result = self.invoke(operation, form, who.account, who.region, endpoint_url)
        return protocol.serialize_result(operation, result, request_id)

    def invoke(self, operation: str, form: Mapping[str, str], account: str, region: str, endpoint_url: str = "") -> Result:
        """One call from its form fields to its result, raising ``AwsError``: the API's path, which
        CloudFormation's resources (``emulator.api.cloudformation``) take too."""
        parsed = protocol.parse_request(operation, form)
        outcome = handle(self._services, account, region, operation, parsed, endpoint_url)
        if outcome.generation is not None and needs_data_plane(outcome.changed_kinds):
            # Answer only once the change is live: a listener just created accepts connections at once, a
            # trust store's new revocations refuse a client certificate at once.
            self._dataplane.wait_applied(outcome.generation)
        return outcome.result
