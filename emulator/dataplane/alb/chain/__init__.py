"""The request chain: the ``Stage`` protocol and outcomes (``outcomes``), the request stages (``stages``) and
target selection (``selection``), the response stages (``response``), and their order (``order.Chain``)."""
