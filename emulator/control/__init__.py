"""The control plane: one handler module per operation family, all registered in ``context.HANDLERS``.

Importing this package imports every handler module, which registers its operations.
"""

from emulator.control.context import HANDLERS, Services
from emulator.control.dispatch import handle

__all__ = ["HANDLERS", "Services", "handle"]
