"""The control plane: one handler module per operation family, all registered in ``context.HANDLERS``.

Importing this package imports every handler module, which registers its operations.
"""

from emulator.control.context import HANDLERS, Services
from emulator.control.dispatch import handle

# Handler modules register their operations on import.
from emulator.control import (  # noqa: F401, E402
    attributes, listener_certificates, listeners, load_balancers, rules, tags, target_groups, targets,
)
from emulator.control import account, capacity, ssl_policies, trust_store_revocations, trust_stores  # noqa: F401, E402

__all__ = ["HANDLERS", "Services", "handle"]
