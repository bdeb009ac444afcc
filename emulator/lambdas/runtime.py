"""The local Lambda runtime (``api_models.lambda_invocation.LambdaInvoker``): invokes moto's stored functions in
warm worker processes, on its own thread and event loop, so neither the ALB data plane's loop nor the API's
threads ever wait on a worker."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from concurrent.futures import Future
from uuid import uuid4

from api_models.lambda_invocation import CRASHED, TIMED_OUT, UNKNOWN_FUNCTION, UNSUPPORTED, Invocation
from emulator.lambdas.code import CodeCache
from emulator.lambdas.functions import FunctionSpec, lookup
from emulator.lambdas.pool import WorkerPool
from emulator.lambdas.worker import Unsupported, WorkerGone

log = logging.getLogger("elbv2_emulator.lambda")
UNHANDLED = "Unhandled"  # Lambda's X-Amz-Function-Error for errors the runtime reports
SWEEP_INTERVAL = 30.0  # seconds between looks for deleted functions and long-idle workers
IDLE_LIFETIME = 300.0  # seconds a warm worker may stay unused before it is stopped


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


class LocalLambdaRuntime:
    def __init__(self) -> None:
        # Added to every worker's environment (``use_endpoint``); workers started before a change keep theirs.
        self.extra_env: dict[str, str] = {}
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._code = CodeCache()
        self._pools: dict[str, WorkerPool] = {}  # by function ARN and version

    def invoke(self, function: str, region: str, account: str, payload: bytes) -> Future[Invocation]:
        if self._thread is None:
            self._start()
        return asyncio.run_coroutine_threadsafe(self._invoke(function, region, account, payload), self._loop)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop.run_forever, name="lambda-runtime", daemon=True)
                self._thread.start()
                self._loop.call_soon_threadsafe(self._loop.call_later, SWEEP_INTERVAL, self._sweep)

    async def _invoke(self, function: str, region: str, account: str, payload: bytes) -> Invocation:
        found = lookup(function, region, account)
        if found is None:
            return Invocation(b"", failure=UNKNOWN_FUNCTION)
        spec, code = found
        try:
            pool = await self._pool(spec, code)
            worker = await pool.acquire()
        except Unsupported as error:
            log.warning("lambda %s cannot run: %s", spec.name, error)
            return self._failed(spec, UNSUPPORTED, _error("Runtime.Unavailable", str(error)))
        except (WorkerGone, TimeoutError, OSError, ValueError) as error:  # (ValueError: a zip that is not one)
            log.warning("lambda %s: its worker did not start: %s", spec.name, error)
            return self._failed(spec, CRASHED, _error("Runtime.ExitError", f"the function did not start: {error}"))
        if worker.init_error is not None:
            pool.release(worker)
            return self._failed(spec, None, worker.init_error)
        request_id = str(uuid4())
        try:
            kind, body = await worker.call(request_id, spec.arn, payload, spec.timeout)
        except TimeoutError:
            pool.discard(worker)  # (Lambda stops the environment: the next invocation gets a fresh one)
            message = f"RequestId: {request_id} Error: Task timed out after {spec.timeout:.2f} seconds"
            return self._failed(spec, TIMED_OUT, _error("Sandbox.Timedout", message))
        except WorkerGone as error:
            pool.discard(worker)
            message = f"RequestId: {request_id} Error: Runtime exited: {error}"
            return self._failed(spec, CRASHED, _error("Runtime.ExitError", message))
        pool.release(worker)
        if kind == b"R":
            return Invocation(body, None, None, spec.arn, spec.version)
        return self._failed(spec, None, body)

    @staticmethod
    def _failed(spec: FunctionSpec, failure: str | None, payload: bytes) -> Invocation:
        return Invocation(payload, UNHANDLED, failure, spec.arn, spec.version)

    async def _pool(self, spec: FunctionSpec, code: bytes) -> WorkerPool:
        """The warm workers of the function's current revision; a changed function (code, handler,
        environment, ...) gets new ones and its old ones are stopped."""
        key = f"{spec.arn}:{spec.version}"
        pool = self._pools.get(key)
        if pool is not None and pool.spec.revision == spec.revision:
            return pool
        task_root = await self._loop.run_in_executor(None, self._code.unpack, spec.code_sha256, code)
        pool = self._pools.get(key)  # (another invocation may have made it meanwhile)
        if pool is not None and pool.spec.revision == spec.revision:
            return pool
        if pool is not None:
            pool.close()
        pool = self._pools[key] = WorkerPool(spec, task_root, dict(self.extra_env))
        return pool

    def use_endpoint(self, url: str) -> None:
        """Point handlers' AWS SDKs at the emulator (``AWS_ENDPOINT_URL``) with placeholder credentials, as
        Lambda hands a function its role's credentials: a handler's boto3 or AWS SDK for JavaScript calls
        reach this emulator, never a real account."""
        self.extra_env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                          "AWS_SESSION_TOKEN": "test"}

    def _sweep(self) -> None:
        """Stop the workers of functions deleted or changed since (moto reset, DeleteFunction, new code),
        and workers idle for ``IDLE_LIFETIME``."""
        self._loop.call_later(SWEEP_INTERVAL, self._sweep)
        for key, pool in list(self._pools.items()):
            spec = pool.spec
            found = lookup(f"{spec.arn}:{spec.version}" if spec.version != "$LATEST" else spec.arn, spec.region,
                           spec.account)
            if found is None or found[0].revision != spec.revision:
                pool.close()
                del self._pools[key]
            else:
                pool.reap(IDLE_LIFETIME)

    def stop(self) -> None:
        """Stop every worker and remove the unpacked code."""
        if self._thread is not None:
            async def close() -> None:
                for pool in self._pools.values():
                    pool.close()

            asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._code.close()
