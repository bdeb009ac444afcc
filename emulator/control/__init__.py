"""The control plane: one handler module per operation family, all registered in ``context.HANDLERS``.

Importing this package imports every handler module, which registers its operations.
"""

# Handler modules register their operations on import.
from emulator.control import (  # noqa: F401, E402  # noqa: F401, E402
    account,
    attributes,
    capacity,
    listener_certificates,
    listeners,
    load_balancers,
    rules,
    ssl_policies,
    tags,
    target_groups,
    targets,
    trust_store_revocations,
    trust_stores,
)
from emulator.control.context import HANDLERS, Services
from emulator.control.dispatch import handle

__all__ = ["HANDLERS", "Services", "handle"]
