"""Who is calling and where: the account from the access key, the region from the SigV4 scope.

Signatures are not verified (this is a local emulator), but they are read: resources are isolated per
account and region exactly as on AWS. A 12-digit access key id names its account, as in moto.
"""

from __future__ import annotations

import re

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

# Authorization: AWS4-HMAC-SHA256 Credential=<akid>/<date>/<region>/<service>/aws4_request, ...
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")


def caller_identity(authorization: str | None) -> tuple[str, str, str | None]:
    """(account, region, service) for a request; service is None when the request is unsigned."""
    match = _CREDENTIAL.search(authorization or "")
    if match is None:
        return DEFAULT_ACCOUNT, DEFAULT_REGION, None
    access_key, region, service = match.groups()
    account = access_key if access_key.isdigit() and len(access_key) == 12 else DEFAULT_ACCOUNT
    return account, region, service
