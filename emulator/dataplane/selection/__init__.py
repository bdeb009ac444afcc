"""Target selection, for ALB requests and NLB flows alike: which target group, which target, which cookies.

One concept per module, each below the next:

- ``target``: ``Target``, one registered (Id, Port) as the data plane sees it.
- ``routable``: health and fail-open, the targets new requests or flows may go to.
- ``algorithms``: ``Picker``, round_robin, least_outstanding_requests, weighted_random, the slow-start ramp.
- ``cookies``: the load balancer's stickiness cookies (opaque values, the Set-Cookie pairs).
- ``stickiness``: target stickiness, lb_cookie (AWSALB) and app_cookie (AWSALBAPP-0..3).
- ``forward``: the compiled forward action: ForwardConfig weights, target-group stickiness (AWSALBTG), and
  ``Forward.select(request) -> Selection`` for the ALB.
- ``flow_hash``: the NLB's choice for a new flow, source_ip stickiness included.
- ``group``: ``TargetGroupRuntime``, the live target group that keeps the per-group state below.

Per-group state (the picker, the stickiness settings, the typed attribute view ``settings``) lives on the
group's ``TargetGroupRuntime`` (``group``), rebuilt when the group's configuration or its routable set
changes, so a selection reads plain attributes. Nothing here imports a load balancer's package:
an ALB request is anything with ``cookie(name)`` (``cookies.CookieSource``).

This package's ``__init__`` imports nothing: callers import the module they need.
"""
