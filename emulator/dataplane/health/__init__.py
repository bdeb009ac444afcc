"""Health checks: every target of every target group a listener or rule uses, really checked.

- ``checker``: ``HealthChecker``, the per-target schedule the engine reconciles after each store change;
- ``probes``: one HTTP(S) GET or TCP connect on a fresh connection;
- ``grpc_probe``: one gRPC call over HTTP/2 (GRPC target groups);
- ``states``: AWS's target health state machine, reason codes and descriptions.
"""

from emulator.dataplane.health.checker import HealthChecker

__all__ = ["HealthChecker"]
