"""How fast simulated time runs: AWS's real intervals, or a fast scale for tests and local development.

``fast`` (the default) makes a new load balancer ``active`` at once, runs the first health check at
registration and scales every AWS duration (health-check intervals, deregistration delay) by
``FAST_SCALE``, so boto3's waiters succeed on their first poll. ``aws`` keeps AWS's durations.
"""

from __future__ import annotations

from dataclasses import dataclass

FAST_SCALE = 0.01  # 30 s health-check interval -> 0.3 s; 300 s deregistration delay -> 3 s


@dataclass(frozen=True, slots=True)
class Timing:
    mode: str = "fast"  # "fast" | "aws"
    # How long a new load balancer reports State "provisioning" (AWS takes about 1-3 minutes).
    provisioning_seconds: float = 0.0

    @classmethod
    def named(cls, mode: str) -> Timing:
        if mode == "aws":
            return cls(mode="aws", provisioning_seconds=60.0)
        if mode == "fast":
            return cls(mode="fast", provisioning_seconds=0.0)
        raise ValueError(f"unknown timing mode {mode!r} (expected 'fast' or 'aws')")

    @property
    def scale(self) -> float:
        return FAST_SCALE if self.mode == "fast" else 1.0

    def seconds(self, aws_seconds: float) -> float:
        """A duration AWS documents, on this clock."""
        return aws_seconds * self.scale
