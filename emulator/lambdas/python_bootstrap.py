"""The worker process of a Python function (run as a script, stdlib only): Lambda's Python runtime interface,
spoken over length-prefixed frames on its standard input and output instead of Lambda's HTTP Runtime API.

argv: the function's unpacked code (LAMBDA_TASK_ROOT) and its handler ("module.function"). The host set the
environment as Lambda defines it. Frames are a 4-byte big-endian length and a body. The worker sends one
``b"I"`` frame once the handler is imported (or ``b"X"`` + an error document when it cannot be: every
invocation then answers that error, as Lambda reports Runtime.ImportModuleError), then for each request frame
(a JSON line ``{"id", "deadline", "arn"}``, a newline, the event) one ``b"R"`` + result or ``b"E"`` + error.
The handler's prints go to the worker's standard error: standard output carries only frames.
"""

from __future__ import annotations

import importlib
import json
import os
import struct
import sys
import time
import traceback
from typing import Any, BinaryIO

_LENGTH = struct.Struct(">I")


class LambdaContext:
    """The context object Lambda hands a Python handler ("Using the Lambda context object to retrieve Python
    function information")."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """Lambda's error document for an exception the handler raised."""
    frames = traceback.extract_tb(error.__traceback__)
    return {
        "errorMessage": str(error), "errorType": error_type or type(error).__name__,
        "stackTrace": [line.rstrip("\n") for line in traceback.format_list(frames)],
    }


def _send(out: BinaryIO, kind: bytes, body: bytes) -> None:
    out.write(_LENGTH.pack(len(body) + 1) + kind + body)
    out.flush()


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:  # the host closed the pipe: the worker's life is over
        raise SystemExit(0)
    return data


def main() -> None:
    task_root, handler_name = sys.argv[1], sys.argv[2]
    requests = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")  # the frames' own descriptor; fd 1 (print) becomes standard error
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    # Lambda's sys.path starts with the task root; this script's own directory is not on it.
    sys.path[0:1] = [task_root]
    os.chdir(task_root)
    try:
        module_name, _, function_name = handler_name.rpartition(".")
        if not module_name:
            raise ValueError(f"Bad handler '{handler_name}': not enough values to unpack (expected 2, got 1)")
        module = importlib.import_module(module_name.replace("/", "."))
        handler = getattr(module, function_name)
    except Exception as error:
        kind = "Runtime.HandlerNotFound" if isinstance(error, AttributeError) else "Runtime.ImportModuleError"
        init_error = json.dumps({"errorMessage": f"Unable to import module '{handler_name}': {error}",
                                 "errorType": kind, "stackTrace": []}).encode()
        _send(out, b"X", init_error)
        while True:
            _read(requests, _LENGTH.unpack(_read(requests, 4))[0])
            _send(out, b"E", init_error)
    _send(out, b"I", b"")
    while True:
        frame = _read(requests, _LENGTH.unpack(_read(requests, 4))[0])
        meta, _, event = frame.partition(b"\n")
        header = json.loads(meta)
        context = LambdaContext(header["id"], header["deadline"], header["arn"])
        try:
            result = handler(json.loads(event), context)
        except Exception as error:
            _send(out, b"E", json.dumps({**_error(error), "requestId": header["id"]}).encode())
            continue
        try:
            _send(out, b"R", json.dumps(result).encode())
        except (TypeError, ValueError) as error:
            _send(out, b"E", json.dumps(_error(error, "Runtime.MarshalError")).encode())


if __name__ == "__main__":
    main()
