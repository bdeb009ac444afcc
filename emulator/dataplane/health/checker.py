"""The health checker: real checks of every target of every target group a listener or rule uses.

Runs on the data-plane loop and never blocks it: each (target group, target) has one timer
(``loop.call_later``) that fires every HealthCheckIntervalSeconds and starts a probe on a fresh connection
(AWS checks every interval no matter how long a response takes; a probe still running when the next one
is due - a TCP check may time out at exactly its interval - lets that tick pass).
Each result feeds the target's state machine (``states``); a changed state is written to the
``TargetHealthBoard`` that DescribeTargetHealth reads, and to the ``Target`` that routing reads.

A group's settings are derived once per config (``plan.CheckPlan``, rebuilt when the reconciler hands over a
changed group), so ModifyTargetGroup and ModifyTargetGroupAttributes take effect on the next check.
Groups that no listener or rule forwards to are not checked (their targets are ``unused`` on AWS).
Before each check of an instance target, EC2 is asked whether the instance runs (through the injected
``instance_address``): a stopped instance is not checked and takes no traffic; started again, it goes
through its initial checks (AWS: ``unused``/Target.InvalidState meanwhile).

Timing: ``--timing aws`` uses AWS's intervals and timeouts and starts a target's checks at a random
point of its first interval (spreading load); ``--timing fast`` scales them (with floors so a timeout
still means something on a loaded machine) and runs a new target's first check while the registration
is being applied, so the API answers RegisterTargets with the verdict of that first check.

The checker knows nothing of how a listener carries a target's connections: when an NLB target's flows
must end (it turned unhealthy, or its unhealthy draining interval is over) it calls the ``ResetFlows``
the engine wired in (the NLB's flow tracking).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from api_models.observations import HealthCheckRecord
from emulator.dataplane.health.grpc_probe import start_grpc_probe, start_http2_probe
from emulator.dataplane.health.lambda_probe import start_lambda_probe
from emulator.dataplane.health.plan import CheckPlan
from emulator.dataplane.health.probes import http_request, start_probe
from emulator.dataplane.health.states import FAILED, HEALTH_CHECK_DISABLED, HEALTHY, CheckResult, TargetHealthState
from emulator.dataplane.runtime import Collaborators, ListenerConfig
from emulator.dataplane.selection.group import Target, TargetGroupRuntime
from emulator.store.target_health import TargetKey

log = logging.getLogger("elbv2_emulator.health")


class ResetFlows(Protocol):
    """Ends every connection (flow) a listener carries to ``target`` at once; called on the data-plane loop.
    The engine passes the NLB's ``reset_target_flows``; the return value is ignored."""

    def __call__(self, target: Target, /) -> object: ...


def _no_flows(target: Target) -> None:
    return None


class _Check:
    """The scheduled checking of one target."""

    __slots__ = (
        "runtime", "plan", "target", "state", "enabled", "timer", "in_flight", "finished", "first", "request",
        "request_for", "nlb_authority", "drain_timer", "launched",
    )

    def __init__(
        self,
        runtime: TargetGroupRuntime,
        plan: CheckPlan,
        target: Target,
        on_result: Callable[[_Check, CheckResult], None],
    ) -> None:
        self.runtime = runtime
        self.plan = plan  # the group's current settings: replaced at every sync that changes them
        self.target = target
        self.state = TargetHealthState()
        self.enabled = plan.probes
        self.timer: asyncio.TimerHandle | None = None
        self.in_flight = False  # a probe has not reported yet
        self.finished = functools.partial(on_result, self)  # bound once: no closure per check
        self.first: asyncio.Future[None] | None = None  # resolved when the first check (fast timing) reports
        self.request = b""  # the GET, rebuilt only when path, host or port change
        self.request_for: tuple[str, str] | None = None  # (path, Host) it was built for
        self.launched = 0.0  # time.time() when the probe in flight started
        self.nlb_authority = ""  # Host of an NLB's HTTP check: the NLB's address and listener port
        self.drain_timer: asyncio.TimerHandle | None = None  # ends an NLB target's unhealthy.draining

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.drain_timer is not None:
            self.drain_timer.cancel()
            self.drain_timer = None
        if self.first is not None and not self.first.done():
            self.first.set_result(None)


class HealthChecker:
    def __init__(self, collaborators: Collaborators, reset_flows: ResetFlows = _no_flows) -> None:
        self._timing = collaborators.timing
        self._board = collaborators.health
        self._instance_address = collaborators.instance_address
        self._reset_flows = reset_flows
        self._observer = collaborators.observer  # each probe's verdict (health check logs)
        self._lambdas = collaborators.lambdas  # what invokes Lambda targets' health check events
        self._checks: dict[TargetKey, _Check] = {}
        self._plans: dict[str, CheckPlan] = {}  # group ARN -> the plan of its current config

    # -- reconciling (called by the engine after each store change) ------------------------------

    async def sync(self, groups: Mapping[str, TargetGroupRuntime], in_use: Mapping[str, ListenerConfig]) -> None:
        """Check exactly the live targets of the groups in use (group ARN -> a listener forwarding to it);
        in fast timing, run the first checks of new targets now."""
        plans = {arn: self._plan(runtime) for arn in in_use if (runtime := groups.get(arn)) is not None}
        self._plans = plans
        wanted = {
            key: (groups[arn], target)
            for arn in plans
            for key, target in groups[arn].targets.items()
            if not target.draining
        }
        for key in [key for key in self._checks if key not in wanted]:
            self._checks.pop(key).stop()
            self._board.forget(key)
        fresh: list[_Check] = []
        for key, (runtime, target) in wanted.items():
            plan = plans[runtime.arn]
            check = self._checks.get(key)
            if check is not None and check.target is target and check.enabled == plan.probes:
                check.runtime, check.plan = runtime, plan
            else:
                if check is not None:
                    check.stop()
                check = self._checks[key] = self._start(runtime, plan, target)
                if plan.probes and not target.unusable:
                    fresh.append(check)
            listener = in_use[runtime.arn]
            check.nlb_authority = f"{listener.load_balancer.address}:{listener.listener.Port}"
        for runtime in {check.runtime for check in fresh}:
            runtime.refresh_routable()
        if self._timing.mode == "fast" and fresh:
            await asyncio.gather(*(self._first_check(check) for check in fresh))

    def _plan(self, runtime: TargetGroupRuntime) -> CheckPlan:
        """The group's plan, derived again only when the reconciler brought a changed config."""
        plan = self._plans.get(runtime.arn)
        if plan is None or plan.group is not runtime.group:
            plan = CheckPlan.of(runtime.group, runtime.settings, self._timing)
        return plan

    def close(self) -> None:
        for check in self._checks.values():
            check.stop()
        self._checks.clear()
        self._plans.clear()

    def _start(self, runtime: TargetGroupRuntime, plan: CheckPlan, target: Target) -> _Check:
        check = _Check(runtime, plan, target, self._finished)
        target.slow_start = 0.0
        if not plan.probes:  # AWS: unavailable/Target.HealthCheckDisabled, and traffic flows to it
            check.state.status = HEALTHY if plan.checks_enabled else HEALTH_CHECK_DISABLED
            target.healthy, target.initial = True, False
        else:
            target.healthy, target.initial = False, not target.unusable
            if self._timing.mode != "fast" or target.unusable:  # (a stopped instance: see whether it starts)
                delay = random.uniform(0.1, 1.0) * plan.interval
                check.timer = asyncio.get_running_loop().call_later(delay, self._tick, check)
        self._board.set(target.key, check.state.status)
        return check

    async def _first_check(self, check: _Check) -> None:
        check.first = asyncio.get_running_loop().create_future()
        self._launch(check)
        await check.first
        if self._checks.get(check.target.key) is check:
            check.timer = asyncio.get_running_loop().call_later(check.plan.interval, self._tick, check)

    # -- checking ---------------------------------------------------------------------------------

    def _tick(self, check: _Check) -> None:
        check.timer = asyncio.get_running_loop().call_later(check.plan.interval, self._tick, check)
        # A TCP check may use its whole interval as timeout (timeout <= interval).
        if not check.in_flight and self._follow_instance(check):
            self._launch(check)

    def _follow_instance(self, check: _Check) -> bool:
        """Whether the target may be checked now; instance targets follow their EC2 instance's state."""
        group, target = check.runtime.group, check.target
        if group.TargetType != "instance":
            return not target.unusable
        host = self._instance_address(group.account, group.region, target.id)
        if host is None:
            if not target.unusable:  # just stopped: out of routing, its connections gone with it
                target.unusable, target.healthy, target.initial = True, False, False
                check.state = TargetHealthState()
                self._board.set(target.key, check.state.status)
                check.runtime.refresh_routable()
                self._reset_flows(target)
            return False
        target.host = host
        if target.unusable:  # started again: initial checks, as a new registration
            target.unusable, target.initial = False, True
            check.runtime.refresh_routable()
        return True

    def _launch(self, check: _Check) -> None:
        """Start one probe with the group's current plan."""
        if check.state.checking():
            self._board.set(check.target.key, check.state.status)
        plan, target = check.plan, check.target
        port = target.port if plan.port is None else plan.port
        check.in_flight = True
        check.launched = time.time()
        try:
            if plan.kind == "lambda":
                if self._lambdas is None:  # no runtime to invoke the function: it cannot answer
                    check.finished(FAILED)
                else:
                    start_lambda_probe(self._lambdas, check.runtime, target.id, plan.path, plan.codes,
                                       plan.timeout, check.finished)
                return
            if plan.kind in ("grpc", "http2"):
                start = start_grpc_probe if plan.kind == "grpc" else start_http2_probe
                start(target.host, port, plan.path, plan.codes, plan.timeout, plan.tls, check.finished)
                return
            request: bytes | None = None
            if plan.kind == "http":
                # AWS: an ALB sends Host <target IP>:<port>; an NLB its own IP and the listener port.
                authority = check.nlb_authority if plan.nlb else f"{target.host}:{port}"
                request = self._request(check, plan.path, authority)
            start_probe(target.host, port, request, plan.codes, plan.timeout, plan.tls, plan.nlb, check.finished)
        except Exception:  # a bug or a bad address must not stop the target's checks
            log.exception("health check of %s failed to start", target.key)
            check.finished(FAILED)

    @staticmethod
    def _request(check: _Check, path: str, authority: str) -> bytes:
        if check.request_for != (path, authority):
            check.request, check.request_for = http_request(path, authority), (path, authority)
        return check.request

    def _finished(self, check: _Check, result: CheckResult) -> None:
        check.in_flight = False
        if self._checks.get(check.target.key) is check:
            if self._observer is not None:
                self._observer.health_check(_probe_record(check, result))
            self._record(check, result)
        if check.first is not None and not check.first.done():
            check.first.set_result(None)

    def _record(self, check: _Check, result: CheckResult) -> None:
        plan, target = check.plan, check.target
        if target.unusable:  # the instance stopped while this probe ran
            return
        was_healthy = check.state.healthy
        if not check.state.record(result, plan.healthy_threshold, plan.unhealthy_threshold):
            return
        if was_healthy and not check.state.healthy:
            self._begin_unhealthy_draining(check)
        self._board.set(target.key, check.state.status)
        now_healthy = check.state.healthy
        if now_healthy != was_healthy or target.initial != check.state.initial:
            if now_healthy:
                self._begin_slow_start(check.runtime, plan, target)
            target.healthy, target.initial = now_healthy, check.state.initial
            check.runtime.refresh_routable()
            if was_healthy and not now_healthy and plan.nlb and plan.settings.terminate_when_unhealthy:
                # NLB: a target turning unhealthy loses its flows, unless the group says otherwise.
                self._reset_flows(target)

    def _begin_slow_start(self, runtime: TargetGroupRuntime, plan: CheckPlan, target: Target) -> None:
        """AWS: a target enters slow start when it becomes healthy, if some other target is healthy and
        already past its own slow start (the first targets of a group take full traffic at once)."""
        target.healthy_since = time.monotonic()
        duration = plan.settings.slow_start_seconds
        others = [t for t in runtime.targets.values() if t is not target and t.healthy and not t.draining]
        settled = any(t.slow_start <= 0.0 or target.healthy_since - t.healthy_since >= t.slow_start for t in others)
        target.slow_start = self._timing.seconds(duration) if duration and settled else 0.0

    def _begin_unhealthy_draining(self, check: _Check) -> None:
        """AWS NLB: with unhealthy connection termination off and a draining interval, a target turning
        unhealthy is ``unhealthy.draining`` for the interval (existing flows go on, no new ones), then
        ``unhealthy`` with its flows terminated."""
        plan = check.plan
        interval = plan.settings.unhealthy_draining_seconds
        if not plan.nlb or plan.settings.terminate_when_unhealthy or interval <= 0:
            return
        check.state.begin_unhealthy_draining()
        if check.drain_timer is not None:
            check.drain_timer.cancel()
        check.drain_timer = asyncio.get_running_loop().call_later(self._timing.seconds(interval), self._drained, check)

    def _drained(self, check: _Check) -> None:
        check.drain_timer = None
        if self._checks.get(check.target.key) is check and check.state.end_unhealthy_draining():
            self._board.set(check.target.key, check.state.status)
            self._reset_flows(check.target)


_MISMATCHED_CODE = re.compile(r"\[(\d+)\]")


def _probe_record(check: _Check, result: CheckResult) -> HealthCheckRecord:
    """One probe as AWS's health check logs show it ("Health check logs for your Application Load Balancer").
    The status code is known for a mismatch (its reason names it) and for a pass against a one-code matcher
    (the code it must have been); otherwise it is not logged."""
    plan, target, now = check.plan, check.target, time.time()
    status: int | None = None
    if plan.kind != "tcp":
        if result is None and len(plan.codes) == 1:
            status = next(iter(plan.codes))
        elif result is not None and result.reason == "Target.ResponseCodeMismatch":
            found = _MISMATCHED_CODE.search(result.description or "")
            status = int(found.group(1)) if found else None
    group = check.runtime.group
    timed_out = result is not None and result.reason == "Target.Timeout"
    protocol = group.HealthCheckProtocol or ("TCP" if plan.nlb else "HTTP")
    return HealthCheckRecord(
        target_group_arn=group.TargetGroupArn, load_balancer_arns=check.runtime.load_balancer_arns,
        target_id=target.id, target_ip=target.host, target_port=target.port if plan.port is None else plan.port,
        protocol="gRPC" if plan.kind == "grpc" else protocol, time=now,
        latency=-1.0 if timed_out else now - check.launched, status_code=status, healthy=result is None,
        reason="-" if result is None else (result.reason or "-"))
