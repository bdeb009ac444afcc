"""Routing: listener rules and transforms (``rules``, ``transforms``), the redirect/fixed-response actions and
the action compiler (``actions``), and target-group protocol-version checks (``protocol_version``)."""
