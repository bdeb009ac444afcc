"""Who is calling and where: the account and the region of a request.

Signatures are not verified (this is a local emulator), but they are read: resources are isolated per
account and region exactly as on AWS. The account is moto's ``x-moto-account-id`` header when given, else
a 12-digit access key id (as in LocalStack), else 123456789012; the region is the SigV4 credential scope's.
The front door stamps the account on every request it hands to moto, so EC2, ACM and S3 resources live in
the same account as the load balancers that use them.
"""

from __future__ import annotations

import re
from typing import NamedTuple, TypeGuard

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

# Authorization: AWS4-HMAC-SHA256 Credential=<akid>/<date>/<region>/<service>/aws4_request, ...
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/[^/]+/")
_SIGNING_SERVICE = re.compile(r"Credential=[^/,\s]+/[^/]+/[^/]+/([^/,\s]+)/")


class Caller(NamedTuple):
    account: str
    region: str


def _is_account_id(value: str | None) -> TypeGuard[str]:
    return value is not None and len(value) == 12 and value.isdigit()


def caller(authorization: str | None, account_header: str | None = None) -> Caller:
    """The account and region a request acts in (see the module docstring for the rules)."""
    match = _CREDENTIAL.search(authorization or "")
    access_key, region = match.groups() if match else (None, DEFAULT_REGION)
    if _is_account_id(account_header):
        return Caller(account_header, region)
    return Caller(access_key if _is_account_id(access_key) else DEFAULT_ACCOUNT, region)


def signing_service(authorization: str | None) -> str | None:
    """The service a SigV4 ``Authorization`` header was signed for (``elasticloadbalancing``), if any."""
    match = _SIGNING_SERVICE.search(authorization or "")
    return match.group(1) if match else None
