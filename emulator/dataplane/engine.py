"""The data plane: one asyncio loop on its own thread that keeps running listeners equal to the store.

Store commits arrive as events; the reconciler rebuilds the desired listener configs and target-group
runtimes from a snapshot and applies them: binding new listeners, re-binding moved ones, swapping the
config of the rest and closing removed ones. A listener that cannot start is reported failed, with its
error, in ``listener_report`` and retried at every later pass. The API waits (``wait_applied``) until the change it just
committed is live, so a user who creates a listener can connect to it as soon as the call returns.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api_models.lambda_invocation import LambdaInvoker
from api_models.observations import Observer
from api_models.resources import Listener
from api_models.security_groups import SecurityGroupSource
from api_models.web_acls import WebAclSource
from emulator.dataplane import alb, nlb  # noqa: F401  (importing registers their listener runtimes)
from emulator.dataplane.addresses import ListenerAddress
from emulator.dataplane.desired import listener_configs, security_group_views, target_group_runtimes, web_acl_views
from emulator.dataplane.health import HealthChecker
from emulator.dataplane.published_ports import PublishedPorts
from emulator.dataplane.runtime import (
    RUNTIMES,
    AdoptsConnections,
    CertificateSource,
    Collaborators,
    ListenerConfig,
    ListenerRuntime,
)
from emulator.dataplane.selection.group import InstanceAddress, TargetGroupRuntime
from emulator.store import Change, Store, TargetHealthBoard
from emulator.timing import Timing

log = logging.getLogger("elbv2_emulator.dataplane")

_new_loop: Callable[[], asyncio.AbstractEventLoop]
try:  # uvloop is 2-5x faster for connection churn and UDP; plain asyncio is the fallback
    import uvloop

    _new_loop = uvloop.new_event_loop
except ImportError:  # pragma: no cover - depends on the platform
    _new_loop = asyncio.new_event_loop


def _loopback_instance(account: str, region: str, instance_id: str) -> str:
    return "127.0.0.1"


def _no_certificates(arn: str) -> None:
    return None


class _Running:
    """A started listener runtime and the config it was started with."""

    def __init__(self, runtime: ListenerRuntime, config: ListenerConfig) -> None:
        self.runtime = runtime
        self.config = config


@dataclass(frozen=True, slots=True)
class _Entry:
    """One line of the listener report: the running runtime (its ``bound`` is read live), or why none runs."""

    listener: Listener
    runtime: ListenerRuntime | None
    failure: ListenerAddress | None  # set when runtime is None


class DataPlane:
    def __init__(
        self,
        store: Store,
        health: TargetHealthBoard,
        timing: Timing,
        certificates: CertificateSource = _no_certificates,
        instance_address: InstanceAddress = _loopback_instance,
        listen_host: str | None = None,
        security_groups: SecurityGroupSource | None = None,
        web_acls: WebAclSource | None = None,
        observer: Observer | None = None,
        published: PublishedPorts | None = None,
        lambdas: LambdaInvoker | None = None,
    ) -> None:
        """``security_groups``: where the inbound rules of load balancers' security groups come from (EC2);
        None turns their enforcement off; ``web_acls``: where the web ACL associated with a load balancer comes
        from (WAFv2); None: no web ACL is enforced; ``observer``: where traffic is reported (None: nowhere);
        ``published``: the port range every listener binds a port of (--listener-ports), None: their own ports;
        ``lambdas``: what invokes ``lambda`` targets (None: their groups answer 502)."""
        self._store = store
        self._listen_host = listen_host
        self._published = published
        self.collaborators = Collaborators(timing, health, certificates, instance_address, security_groups,
                                           web_acls, observer, lambdas)
        # An NLB target's flows end when it turns unhealthy: the NLB's flow tracking, handed to the checker.
        self._health = HealthChecker(self.collaborators, nlb.reset_target_flows)
        self._loop = _new_loop()
        self._thread: threading.Thread | None = None
        self._running: dict[str, _Running] = {}
        self._failed: dict[str, ListenerAddress] = {}  # listeners that could not start, retried every pass
        self.target_groups: dict[str, TargetGroupRuntime] = {}
        self._dirty = asyncio.Event()
        self._applied = threading.Condition()
        self._applied_generation = -1
        # Refreshes asked for from outside the store (EC2 security group changes): passes that began after a
        # request read what it changed. Both counters are guarded by ``_applied``.
        self._refresh_requested = self._refresh_served = 0
        self._report: list[_Entry] = []  # replaced whole on the loop, read from API threads

    # -- lifecycle (called from other threads) --------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._store.subscribe(self._on_changes)
        self._thread = threading.Thread(target=self._run, name="elbv2-dataplane", daemon=True)
        self._thread.start()
        self.wait_applied(self._store.generation)

    def stop(self) -> None:
        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def wait_applied(self, generation: int, timeout: float = 5.0) -> bool:
        """Block until the data plane runs the store as of ``generation`` (or the timeout passes)."""
        with self._applied:
            return self._applied.wait_for(lambda: self._applied_generation >= generation, timeout)

    def refresh(self, timeout: float = 5.0) -> bool:
        """Run a pass now for a change outside the store (EC2 security group rules), and block until one that
        began after this call has applied (or the timeout passes)."""
        with self._applied:
            self._refresh_requested += 1
            wanted = self._refresh_requested
        self._loop.call_soon_threadsafe(self._dirty.set)
        with self._applied:
            return self._applied.wait_for(lambda: self._refresh_served >= wanted, timeout)

    def listener_report(self) -> list[dict[str, Any]]:
        """Every listener the data plane serves: where it accepts traffic, or the error that stops it."""
        return [_describe(entry) for entry in self._report]

    def reset(self) -> None:
        self.collaborators.health.clear()

    def adopt(self, listener_arn: str, sock: socket.socket) -> bool:
        """Serve ``sock``, a client connection accepted by the API port, on the listener's runtime (from any
        thread). False, with ``sock`` left to the caller, when that listener runs nothing that can."""
        running = self._running.get(listener_arn)
        if running is None or not isinstance(running.runtime, AdoptsConnections):
            return False
        self._loop.call_soon_threadsafe(running.runtime.adopt, sock)
        return True

    # -- on the loop ------------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._dirty = asyncio.Event()
        self._dirty.set()
        reconciler = self._loop.create_task(self._reconcile_forever())
        self._loop.run_forever()
        reconciler.cancel()
        self._loop.run_until_complete(asyncio.gather(reconciler, return_exceptions=True))
        self._loop.close()

    def _on_changes(self, changes: list[Change]) -> None:
        # Runs on an API thread under the store lock: only hand the news to the loop.
        self._loop.call_soon_threadsafe(self._dirty.set)

    async def _reconcile_forever(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self._reconcile()
            except Exception:  # a bug in one pass must not stop the data plane
                log.exception("reconcile failed")

    async def _reconcile(self) -> None:
        with self._applied:
            refresh = self._refresh_requested  # served by this pass: it reads EC2 after this point
        generation, snapshot = await self._loop.run_in_executor(None, self._store.snapshot_all)
        source = self.collaborators.security_groups
        views = await self._loop.run_in_executor(None, security_group_views, snapshot, source) if source else {}
        acls, scale = self.collaborators.web_acls, self.collaborators.timing.scale
        web_acls = await self._loop.run_in_executor(None, web_acl_views, snapshot, acls, scale) if acls else {}
        now = datetime.now(UTC)
        timing, instances = self.collaborators.timing, self.collaborators.instance_address
        self.target_groups, next_deadline = target_group_runtimes(snapshot, self.target_groups, timing, now, instances)
        desired = listener_configs(snapshot, self.target_groups, self._listen_host, views, web_acls, self._published)
        forwarding: dict[str, set[str]] = {}  # target group -> the load balancers whose listeners forward to it
        for config in desired.values():
            for group_arn in config.target_groups:
                forwarding.setdefault(group_arn, set()).add(config.load_balancer.LoadBalancerArn)
        for group_arn, runtime in self.target_groups.items():
            runtime.load_balancer_arns = tuple(sorted(forwarding.get(group_arn, ())))
        # Before listeners see new targets: mark them initial and (fast timing) run their first check.
        await self._health.sync(self.target_groups, {arn: c for c in desired.values() for arn in c.target_groups})
        for arn in [arn for arn in self._running if arn not in desired]:
            await self._running.pop(arn).runtime.close()
        for arn, config in desired.items():
            await self._apply(arn, config)
        if next_deadline is not None:  # wake up when the next draining target is due to disappear
            self._loop.call_later((next_deadline - now).total_seconds(), self._dirty.set)
        self._failed = {arn: failure for arn, failure in self._failed.items() if arn in desired}
        served = [(arn, config) for arn, config in desired.items() if arn in self._running or arn in self._failed]
        self._report = [self._entry(arn, config) for arn, config in served]
        with self._applied:
            self._applied_generation = generation
            self._refresh_served = refresh
            self._applied.notify_all()

    async def _apply(self, arn: str, config: ListenerConfig) -> None:
        running = self._running.get(arn)
        if running is not None and running.config.binding == config.binding:
            running.runtime.update(config)
            running.config = config
            return
        if running is not None:
            await self._running.pop(arn).runtime.close()
        factory = RUNTIMES.get(config.listener.Protocol or "")
        if factory is None:
            log.warning("no data plane for %s listeners yet (%s)", config.listener.Protocol, arn)
            return
        runtime = factory(config, self.collaborators)
        try:
            await runtime.start()
        except Exception as error:  # the listener is reported failed (and retried) instead of running
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            failure = runtime.bound.failed(reason)
            if self._failed.get(arn) != failure:  # retried at every pass: log each new reason once
                log.error("listener %s cannot start: %s", arn, reason)
            self._failed[arn] = failure
            return
        self._failed.pop(arn, None)
        if runtime.bound.state == "remapped":
            log.warning("listener %s remapped to %s (%s)", arn, runtime.bound.address, runtime.bound.reason)
        self._running[arn] = _Running(runtime, config)

    def _entry(self, arn: str, config: ListenerConfig) -> _Entry:
        running = self._running.get(arn)
        return _Entry(config.listener, running.runtime if running else None, self._failed.get(arn))

    async def _close_all(self) -> None:
        self._health.close()
        for running in self._running.values():
            await running.runtime.close()
        self._running.clear()


def _describe(entry: _Entry) -> dict[str, Any]:
    listener = entry.listener
    bound = entry.runtime.bound if entry.runtime is not None else entry.failure
    assert bound is not None
    return {
        "ListenerArn": listener.ListenerArn,
        "LoadBalancerArn": listener.LoadBalancerArn,
        "Protocol": listener.Protocol,
        "Port": listener.Port,
        "State": bound.state,
        "Address": bound.address,
        "RequestedAddress": bound.requested,
        "Reason": bound.reason,
    }
