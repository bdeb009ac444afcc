"""AWS's target health state machine, with AWS's reason codes and description strings.

One ``TargetHealthState`` per checked target counts consecutive passes and failures and says when the
state DescribeTargetHealth reports has changed (see the behaviour checklist, section 3.3/3.4, and
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html):

- registered -> ``initial`` / Elb.RegistrationInProgress -> ``initial`` / Elb.InitialHealthChecking once
  checks start -> ``healthy`` after ONE passing check;
- from ``initial``, UnhealthyThresholdCount consecutive failures -> ``unhealthy``;
- from ``healthy``, UnhealthyThresholdCount consecutive failures -> ``unhealthy``;
- from ``unhealthy``, HealthyThresholdCount consecutive passes -> ``healthy``.
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
            if self.status.state == "unhealthy" or self._failures >= unhealthy_threshold:
                self.status = result  # the latest failure's reason, as AWS reports it
        return self.status != before

    @property
    def initial(self) -> bool:
        return self.status.state == "initial"

    @property
    def healthy(self) -> bool:
        return self.status.state == "healthy"
