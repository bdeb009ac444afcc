"""For Python test suites that use the emulator (users' suites and this repository's own).

- ``elb_dns(endpoint_url)``: load-balancer DNS names resolve in this process (``emulator.testing.dns``).
- The pytest plugin (``emulator.testing.plugin``, registered through the ``pytest11`` entry point): the
  ``elbv2_emulator`` fixture, an emulator for the test session, and ``elbv2_emulator_reset`` for isolation.
"""

from emulator.testing.dns import elb_dns

__all__ = ["elb_dns"]
