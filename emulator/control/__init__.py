"""The control plane: one handler module per operation family, all registered in ``context.HANDLERS``.

This package's ``__init__`` imports nothing, so the handler modules (which import their siblings through
the package) never form an import cycle with it: ``dispatch`` imports every handler module, which
registers its operations, and ``context`` holds what handlers and their callers share (``Services``,
``HANDLERS``). Callers import from those two modules.
"""
