"""Objects in moto's in-process S3: reading what users upload, and handing out presigned URLs of copies.

Trust stores read CA bundles and CRLs from S3 as AWS does. AWS answers GetTrustStoreCaCertificatesBundle
and GetTrustStoreRevocationContent with a presigned URL to its own copy, valid for 10 minutes; the
emulator writes its copy into an S3 bucket of its own in moto and presigns it against the endpoint the
client called, so the URL works with any HTTP client.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import botocore.session
from botocore.config import Config
from moto.s3.models import s3_backends

from emulator.control.context import Context
from emulator.errors import AwsError

URL_EXPIRY_SECONDS = 600  # AWS: "The URL is valid for 10 minutes" [D, GetTrustStoreCaCertificatesBundle]
_FALLBACK_ENDPOINT = "http://127.0.0.1:4566"  # the CLI's default, for calls made without HTTP


def _backend_of_bucket(bucket: str) -> Any:
    """Bucket names are global in S3: find the moto backend (account, partition) that owns it."""
    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return None
    partition, account = owner
    return s3_backends[account][partition]


def bucket_exists(bucket: str) -> bool:
    return bucket in s3_backends.bucket_accounts


def read_object(bucket: str, key: str, version: str | None, missing_code: str) -> bytes:
    """The object's bytes; ``missing_code`` (e.g. CaCertificatesBundleNotFound) when it does not exist."""
    backend = _backend_of_bucket(bucket)
    found = None
    if backend is not None:
        try:
            found = backend.get_object(bucket, key, version_id=version)
        except Exception:  # moto raises its own S3 errors for an unknown version id
            found = None
    if found is None:
        raise AwsError(missing_code, f"The object '{key}' in S3 bucket '{bucket}' does not exist")  # wording inferred
    return bytes(found.value)


def _own_bucket(ctx: Context) -> str:
    name = f"elbv2-emulator-{ctx.account}-{ctx.region}"
    backend = s3_backends[ctx.account]["global"]
    if name not in s3_backends.bucket_accounts:
        backend.create_bucket(name, ctx.region)
    return name


@lru_cache(maxsize=16)
def _presigner(endpoint_url: str, region: str, account: str) -> Any:
    session = botocore.session.Session()
    return session.create_client(
        "s3", region_name=region, endpoint_url=endpoint_url, aws_access_key_id=account,
        aws_secret_access_key="emulator", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def publish(ctx: Context, key: str, content: bytes) -> str:
    """Store ``content`` in the emulator's bucket under ``key`` and return a presigned GET URL for it."""
    bucket = _own_bucket(ctx)
    s3_backends[ctx.account]["global"].put_object(bucket, key, content)
    client = _presigner(ctx.endpoint_url or _FALLBACK_ENDPOINT, ctx.region, ctx.account)
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=URL_EXPIRY_SECONDS
    )


def unpublish(ctx: Context, prefix: str) -> None:
    """Forget the emulator's copies under ``prefix`` (a deleted trust store's bundle and CRLs)."""
    name = f"elbv2-emulator-{ctx.account}-{ctx.region}"
    if name not in s3_backends.bucket_accounts:
        return
    backend = s3_backends[ctx.account]["global"]
    for key in [k for k in backend.get_bucket(name).keys.keys() if k.startswith(prefix)]:
        backend.delete_object(name, key)
