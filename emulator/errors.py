"""The one error type every layer raises when AWS would answer with an error document.

The protocol layer turns an ``AwsError`` into AWS's ``ErrorResponse`` XML; botocore then picks the
modeled exception class by ``code``. Codes and HTTP statuses follow the elbv2 service model: every
modeled error is a 400 except the three listed in ``_STATUS_BY_CODE``.

Messages: AWS documents the codes but rarely the exact wording. A message AWS was seen to send is copied
as is; one it does not document ends its line with the comment ``# wording inferred``: the code and the
condition are AWS's, the wording is the emulator's, in AWS's style. Behaviour that is inferred rather
than documented says so where it is implemented ("inferred").
"""

from __future__ import annotations

_STATUS_BY_CODE = {
    "HealthUnavailable": 500,
    "InsufficientCapacity": 500,
    "PriorRequestNotComplete": 429,
    "AccessDenied": 403,
    "InternalFailure": 500,
}


class AwsError(Exception):
    """An error answered to the client as ``<ErrorResponse><Error><Code>…``."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status if status is not None else _STATUS_BY_CODE.get(code, 400)
        # AWS marks server-side failures (5xx) as "Receiver", everything else as "Sender".
        self.fault = "Receiver" if self.status >= 500 else "Sender"


def validation_error(message: str) -> AwsError:
    """AWS's unmodeled ``ValidationError`` (HTTP 400)."""
    return AwsError("ValidationError", message)
