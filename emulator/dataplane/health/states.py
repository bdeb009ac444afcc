"""AWS's target health state machine, with AWS's reason codes and description strings.

One ``TargetHealthState`` per checked target counts consecutive passes and failures and says when the
state DescribeTargetHealth reports has changed (AWS: API_TargetHealth, "Health checks for Application Load
Balancer target groups", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html):

- registered -> ``initial`` / Elb.RegistrationInProgress -> ``initial`` / Elb.InitialHealthChecking once
  checks start -> ``healthy`` after ONE passing check;
- from ``initial``, UnhealthyThresholdCount consecutive failures -> ``unhealthy``;
- from ``healthy``, UnhealthyThresholdCount consecutive failures -> ``unhealthy``;
- from ``unhealthy``, HealthyThresholdCount consecutive passes -> ``healthy``;
- NLB with ``target_health_state.unhealthy.connection_termination.enabled=false`` and a draining interval:
  a target turning unhealthy is ``unhealthy.draining`` (same reason) for that interval, then ``unhealthy``
  unless HealthyThresholdCount passes bring it back to ``healthy`` first (AWS NLB "unhealthy target
  connection termination": no new connections, established ones kept for the interval).
"""

from __future__ import annotations

from emulator.store.target_health import HealthStatus

REGISTRATION_IN_PROGRESS = HealthStatus("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
INITIAL_HEALTH_CHECKING = HealthStatus("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
HEALTHY = HealthStatus("healthy")
HEALTH_CHECK_DISABLED = HealthStatus("unavailable", "Target.HealthCheckDisabled", "Health checks are disabled")
TIMED_OUT = HealthStatus("unhealthy", "Target.Timeout", "Request timed out")
FAILED = HealthStatus("unhealthy", "Target.FailedHealthChecks", "Health checks failed")


def response_code_mismatch(code: int) -> HealthStatus:
    return HealthStatus("unhealthy", "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]")


# What one check saw: None when it passed, else the unhealthy status it would report.
CheckResult = HealthStatus | None


class TargetHealthState:
    """Consecutive-result counting for one target; ``status`` is what DescribeTargetHealth shows."""

    __slots__ = ("status", "_passes", "_failures")

    def __init__(self) -> None:
        self.status = REGISTRATION_IN_PROGRESS
        self._passes = 0
        self._failures = 0

    def checking(self) -> bool:
        """Checks have started; returns True when the status changed."""
        if self.status is REGISTRATION_IN_PROGRESS:
            self.status = INITIAL_HEALTH_CHECKING
            return True
        return False

    def record(self, result: CheckResult, healthy_threshold: int, unhealthy_threshold: int) -> bool:
        """Count one check; returns True when the reported status changed."""
        self.checking()
        before = self.status
        if result is None:
            self._passes += 1
            self._failures = 0
            if self.status.state == "initial" or self._passes >= healthy_threshold:
                self.status = HEALTHY
        else:
            self._failures += 1
            self._passes = 0
            if self.status.state == "unhealthy.draining":
                pass  # stays until its draining interval ends (end_unhealthy_draining)
            elif self.status.state == "unhealthy" or self._failures >= unhealthy_threshold:
                self.status = result  # the latest failure's reason, as AWS reports it
        return self.status != before

    def begin_unhealthy_draining(self) -> None:
        """The target just turned unhealthy on an NLB group that drains unhealthy targets."""
        self.status = HealthStatus("unhealthy.draining", self.status.reason, self.status.description)

    def end_unhealthy_draining(self) -> bool:
        """The draining interval is over: ``unhealthy`` if it still drains; returns True when it did."""
        if self.status.state != "unhealthy.draining":
            return False
        self.status = HealthStatus("unhealthy", self.status.reason, self.status.description)
        return True

    @property
    def initial(self) -> bool:
        return self.status.state == "initial"

    @property
    def healthy(self) -> bool:
        return self.status.state == "healthy"
