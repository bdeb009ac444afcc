"""The functions moto's Lambda stores (``lambda create-function``, from a zip or an S3 object), read as what a
local worker needs to run one: its code, runtime, handler, environment, memory and Timeout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    arn: str  # unqualified: arn:aws:lambda:region:account:function:name
    name: str
    region: str
    account: str
    version: str  # "$LATEST" or a published version
    runtime: str  # e.g. python3.12, nodejs20.x ("" for an image function)
    handler: str
    timeout: float  # seconds (the function's Timeout)
    memory_mb: int
    environment: tuple[tuple[str, str], ...]
    code_sha256: str
    package_type: str  # Zip | Image

    @property
    def revision(self) -> tuple[object, ...]:
        """What a warm worker was started from: a different revision needs new workers."""
        return (self.version, self.runtime, self.handler, self.memory_mb, self.environment, self.code_sha256)


def split_function(function: str, region: str, account: str) -> tuple[str, str | None, str, str]:
    """(name, qualifier or None, region, account) of a function name, ``name:qualifier`` or function ARN."""
    if function.startswith("arn:"):
        parts = function.split(":")  # arn:partition:lambda:region:account:function:name[:qualifier]
        if len(parts) >= 7:
            return parts[6], parts[7] if len(parts) > 7 else None, parts[3], parts[4]
    name, _, qualifier = function.partition(":")
    return name, qualifier or None, region, account


def lookup(function: str, region: str, account: str) -> tuple[FunctionSpec, bytes] | None:
    """The function (at its qualifier: a version or alias, else $LATEST) and its zip, or None when moto does not
    know it. Reads moto's in-process state: call from one thread at a time, off any event loop."""
    from moto.awslambda.models import lambda_backends

    name, qualifier, region, account = split_function(function, region, account)
    per_account = dict.get(lambda_backends, account)  # (dict.get: moto creates backends on first lookup)
    backend = dict.get(per_account, region) if per_account is not None else None
    if backend is None:
        return None
    try:
        found: Any = backend.get_function(name, qualifier)
    except Exception:  # moto's own not-found errors
        return None
    if found is None:
        return None
    variables = found.environment_vars or {}
    spec = FunctionSpec(
        arn=f"arn:aws:lambda:{region}:{account}:function:{found.function_name}",
        name=found.function_name, region=region, account=account, version=str(found.version),
        runtime=found.run_time or "", handler=found.handler or "", timeout=float(found.timeout or 3),
        memory_mb=int(found.memory_size or 128),
        environment=tuple(sorted((str(k), str(v)) for k, v in variables.items())),
        code_sha256=getattr(found, "code_sha_256", "") or "", package_type=found.package_type or "Zip",
    )
    return spec, getattr(found, "code_bytes", b"") or b""
