"""The health checker: real checks of every target of every target group a listener or rule uses.

Runs on the data-plane loop and never blocks it: each (target group, target) has one timer
(``loop.call_later``) that fires every HealthCheckIntervalSeconds and starts a probe on a fresh connection
(AWS checks every interval no matter how long a response takes; a probe still running when the next one
is due - a TCP check may time out at exactly its interval - lets that tick pass).
Each result feeds the target's state machine (``states``); a changed state is written to the
``TargetHealthBoard`` that DescribeTargetHealth reads, and to the ``Target`` that routing reads.

Settings are read from the group at every check, so ModifyTargetGroup takes effect on the next check.
Groups that no listener or rule forwards to are not checked (their targets are ``unused`` on AWS).
Before each check of an instance target, EC2 is asked whether the instance runs (through the injected
``instance_address``): a stopped instance is not checked and takes no traffic; started again, it goes
through its initial checks (AWS: ``unused``/Target.InvalidState meanwhile).

Timing: ``--timing aws`` uses AWS's intervals and timeouts and starts a target's checks at a random
point of its first interval (spreading load); ``--timing fast`` scales them (with floors so a timeout
still means something on a loaded machine) and runs a new target's first check while the registration
is being applied, so the API answers RegisterTargets with the verdict of that first check.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Callable, Mapping

from emulator.dataplane.health.grpc_probe import DEFAULT_PATH, start_grpc_probe
from emulator.dataplane.health.probes import http_request, parse_matcher, start_probe
from emulator.dataplane.health.states import FAILED, HEALTH_CHECK_DISABLED, HEALTHY, CheckResult, TargetHealthState
from emulator.dataplane.nlb.tracking import reset_target_flows
from emulator.dataplane.runtime import Collaborators, ListenerConfig
from emulator.dataplane.targets import Target, TargetGroupRuntime
from emulator.store.target_health import TargetKey

log = logging.getLogger("elbv2_emulator.health")

NLB_PROTOCOLS = frozenset({"TCP", "UDP", "TLS", "TCP_UDP", "QUIC", "TCP_QUIC"})
# Fast timing scales AWS's 5 s default timeout to 50 ms; a backend on a busy laptop (or CI box) needs more.
FAST_TIMEOUT_FLOOR = 0.25
FAST_INTERVAL_FLOOR = 0.3
_NO_CODES: frozenset[int] = frozenset()


class _Check:
    """The scheduled checking of one target."""

    __slots__ = (
        "runtime", "target", "state", "enabled", "timer", "in_flight", "finished", "first", "request", "request_for",
        "nlb_authority", "drain_timer",
    )

    def __init__(
        self, runtime: TargetGroupRuntime, target: Target, enabled: bool, on_result: Callable[[_Check, CheckResult], None]
    ) -> None:
        self.runtime = runtime
        self.target = target
        self.state = TargetHealthState()
        self.enabled = enabled
        self.timer: asyncio.TimerHandle | None = None
        self.in_flight = False  # a probe has not reported yet
        self.finished = functools.partial(on_result, self)  # bound once: no closure per check
        self.first: asyncio.Future[None] | None = None  # resolved when the first check (fast timing) reports
        self.request = b""  # the GET, rebuilt only when path, host or port change
        self.request_for: tuple[str, str] | None = None  # (path, Host) it was built for
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


def checks_enabled(runtime: TargetGroupRuntime) -> bool:
    # Lambda targets are invoked, not connected to: the emulator does not probe them (reported healthy
    # when their checks are enabled, as a function that answers would be).
    return runtime.group.HealthCheckEnabled and runtime.group.TargetType != "lambda"


class HealthChecker:
    def __init__(self, collaborators: Collaborators) -> None:
        self._timing = collaborators.timing
        self._board = collaborators.health
        self._instance_address = collaborators.instance_address
        self._checks: dict[TargetKey, _Check] = {}

    # -- reconciling (called by the engine after each store change) ------------------------------

    async def sync(self, groups: Mapping[str, TargetGroupRuntime], in_use: Mapping[str, ListenerConfig]) -> None:
        """Check exactly the live targets of the groups in use (group ARN -> a listener forwarding to it);
        in fast timing, run the first checks of new targets now."""
        wanted = {
            key: (runtime, target)
            for arn in in_use
            if (runtime := groups.get(arn)) is not None
            for key, target in runtime.targets.items()
            if not target.draining
        }
        for key in [key for key in self._checks if key not in wanted]:
            self._checks.pop(key).stop()
            self._board.forget(key)
        fresh: list[_Check] = []
        for key, (runtime, target) in wanted.items():
            check = self._checks.get(key)
            enabled = checks_enabled(runtime)
            if check is not None and check.target is target and check.enabled == enabled:
                check.runtime = runtime
            else:
                if check is not None:
                    check.stop()
                check = self._checks[key] = self._start(runtime, target, enabled)
                if enabled and not target.unusable:
                    fresh.append(check)
            listener = in_use[runtime.arn]
            check.nlb_authority = f"{listener.load_balancer.address}:{listener.listener.Port}"
        for runtime in {check.runtime for check in fresh}:
            runtime.refresh_routable()
        if self._timing.mode == "fast" and fresh:
            await asyncio.gather(*(self._first_check(check) for check in fresh))

    def close(self) -> None:
        for check in self._checks.values():
            check.stop()
        self._checks.clear()

    def _start(self, runtime: TargetGroupRuntime, target: Target, enabled: bool) -> _Check:
        check = _Check(runtime, target, enabled, self._finished)
        target.slow_start = 0.0
        if not enabled:  # AWS: unavailable/Target.HealthCheckDisabled, and traffic flows to it
            check.state.status = HEALTHY if runtime.group.HealthCheckEnabled else HEALTH_CHECK_DISABLED
            target.healthy, target.initial = True, False
        else:
            target.healthy, target.initial = False, not target.unusable
            if self._timing.mode != "fast" or target.unusable:  # (a stopped instance: see whether it starts)
                delay = random.uniform(0.1, 1.0) * self._interval(runtime)
                check.timer = asyncio.get_running_loop().call_later(delay, self._tick, check)
        self._board.set(target.key, check.state.status)
        return check

    async def _first_check(self, check: _Check) -> None:
        check.first = asyncio.get_running_loop().create_future()
        self._launch(check)
        await check.first
        if self._checks.get(check.target.key) is check:
            check.timer = asyncio.get_running_loop().call_later(self._interval(check.runtime), self._tick, check)

    # -- checking ---------------------------------------------------------------------------------

    def _tick(self, check: _Check) -> None:
        check.timer = asyncio.get_running_loop().call_later(self._interval(check.runtime), self._tick, check)
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
                reset_target_flows(target)
            return False
        target.host = host
        if target.unusable:  # started again: initial checks, as a new registration
            target.unusable, target.initial = False, True
            check.runtime.refresh_routable()
        return True

    def _launch(self, check: _Check) -> None:
        """Start one probe with the group's current settings (so ModifyTargetGroup applies from here)."""
        if check.state.checking():
            self._board.set(check.target.key, check.state.status)
        group, target = check.runtime.group, check.target
        nlb_group = (group.Protocol or "") in NLB_PROTOCOLS
        port = target.port if group.HealthCheckPort in (None, "", "traffic-port") else int(group.HealthCheckPort)
        protocol = group.HealthCheckProtocol or ("TCP" if nlb_group else "HTTP")
        request: bytes | None = None
        codes = _NO_CODES
        grpc = protocol != "TCP" and group.ProtocolVersion == "GRPC"  # a gRPC call over HTTP/2 (grpc_probe)
        if protocol != "TCP" and not grpc:
            codes = parse_matcher((group.Matcher or {}).get("HttpCode") or ("200-399" if nlb_group else "200"))
            # AWS: an ALB sends Host <target IP>:<port>; an NLB its own IP and the listener port.
            authority = check.nlb_authority if nlb_group else f"{target.host}:{port}"
            request = self._request(check, group.HealthCheckPath or "/", authority)
        check.in_flight = True
        try:
            if grpc:
                codes = parse_matcher((group.Matcher or {}).get("GrpcCode") or "12")
                path = group.HealthCheckPath or DEFAULT_PATH
                start_grpc_probe(target.host, port, path, codes, self._timeout(check.runtime), protocol == "HTTPS", check.finished)
            else:
                start_probe(target.host, port, request, codes, self._timeout(check.runtime), protocol == "HTTPS", nlb_group, check.finished)
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
            self._record(check, result)
        if check.first is not None and not check.first.done():
            check.first.set_result(None)

    def _record(self, check: _Check, result: CheckResult) -> None:
        group, target = check.runtime.group, check.target
        if target.unusable:  # the instance stopped while this probe ran
            return
        was_healthy = check.state.healthy
        if not check.state.record(result, group.HealthyThresholdCount, group.UnhealthyThresholdCount):
            return
        if was_healthy and not check.state.healthy:
            self._begin_unhealthy_draining(check)
        self._board.set(target.key, check.state.status)
        now_healthy = check.state.healthy
        if now_healthy != was_healthy or target.initial != check.state.initial:
            if now_healthy:
                self._begin_slow_start(check.runtime, target)
            target.healthy, target.initial = now_healthy, check.state.initial
            check.runtime.refresh_routable()
            if was_healthy and not now_healthy:
                self._terminate_flows(check.runtime, target)

    def _begin_slow_start(self, runtime: TargetGroupRuntime, target: Target) -> None:
        """AWS: a target enters slow start when it becomes healthy, if some other target is healthy and
        already past its own slow start (the first targets of a group take full traffic at once)."""
        target.healthy_since = time.monotonic()
        duration = float(runtime.group.attributes.get("slow_start.duration_seconds", "0"))
        others = [t for t in runtime.targets.values() if t is not target and t.healthy and not t.draining]
        settled = any(t.slow_start <= 0.0 or target.healthy_since - t.healthy_since >= t.slow_start for t in others)
        target.slow_start = self._timing.seconds(duration) if duration and settled else 0.0

    def _begin_unhealthy_draining(self, check: _Check) -> None:
        """AWS NLB: with unhealthy connection termination off and a draining interval, a target turning
        unhealthy is ``unhealthy.draining`` for the interval (existing flows go on, no new ones), then
        ``unhealthy`` with its flows terminated."""
        attributes, group = check.runtime.group.attributes, check.runtime.group
        if (group.Protocol or "") not in NLB_PROTOCOLS:
            return
        if attributes.get("target_health_state.unhealthy.connection_termination.enabled") != "false":
            return
        interval = float(attributes.get("target_health_state.unhealthy.draining_interval_seconds", "0"))
        if interval <= 0:
            return
        check.state.begin_unhealthy_draining()
        if check.drain_timer is not None:
            check.drain_timer.cancel()
        check.drain_timer = asyncio.get_running_loop().call_later(self._timing.seconds(interval), self._drained, check)

    def _drained(self, check: _Check) -> None:
        check.drain_timer = None
        if self._checks.get(check.target.key) is check and check.state.end_unhealthy_draining():
            self._board.set(check.target.key, check.state.status)
            reset_target_flows(check.target)

    @staticmethod
    def _terminate_flows(runtime: TargetGroupRuntime, target: Target) -> None:
        """NLB: reset a target's flows when it turns unhealthy, unless the group says otherwise."""
        attribute = runtime.group.attributes.get("target_health_state.unhealthy.connection_termination.enabled")
        if (runtime.group.Protocol or "") not in NLB_PROTOCOLS or attribute == "false":
            return
        reset_target_flows(target)

    # -- timing -------------------------------------------------------------------------------------

    def _interval(self, runtime: TargetGroupRuntime) -> float:
        seconds = self._timing.seconds(runtime.group.HealthCheckIntervalSeconds)
        return max(seconds, FAST_INTERVAL_FLOOR) if self._timing.mode == "fast" else seconds

    def _timeout(self, runtime: TargetGroupRuntime) -> float:
        seconds = self._timing.seconds(runtime.group.HealthCheckTimeoutSeconds)
        if self._timing.mode == "fast":
            seconds = max(seconds, FAST_TIMEOUT_FLOOR)
        return min(seconds, self._interval(runtime))

