"""The data plane's live view of one target group: where its targets are and which may take traffic.

One ``TargetGroupRuntime`` per target group is shared by every listener that forwards to it, so health
state and selection state (round-robin position, outstanding requests, stickiness, flow tables) are per
group, as on AWS. The reconciler refreshes it on every store change (``update``); the health checker marks
targets up or down and calls ``refresh_routable``. How a target is chosen lives in the
rest of ``emulator.dataplane.selection``; the group's part of it is kept here: ``settings`` (the typed view of its
attributes), ``picker`` and ``stickiness``, all rebuilt when what they derive from changes.
"""

from __future__ import annotations

from collections.abc import Callable

from api_models.attribute_views import TargetGroupSettings
from api_models.resources import TargetGroup, TargetRegistration
from emulator.dataplane.selection.algorithms import Picker
from emulator.dataplane.selection.routable import routable_targets
from emulator.dataplane.selection.stickiness import TargetStickiness
from emulator.dataplane.selection.target import Target
from emulator.store.target_health import TargetKey

__all__ = ["InstanceAddress", "Target", "TargetAddress", "TargetGroupRuntime"]

# Resolves an instance id to the local address its traffic goes to (see README "Target types"), or None
# while the instance is not running (AWS: unused/Target.InvalidState, no traffic).
InstanceAddress = Callable[[str, str, str], "str | None"]  # (account, region, instance id) -> host
# Resolves a registration to the host its traffic goes to, whatever the group's target type; None when
# the target cannot take traffic (a stopped instance, a load balancer's own address).
TargetAddress = Callable[[TargetRegistration], "str | None"]


class TargetGroupRuntime:
    def __init__(self, group: TargetGroup) -> None:
        self.group = group
        # What the data planes check per request, read once (a group's protocol, version and type are fixed).
        self.tls = group.Protocol in ("HTTPS", "TLS")
        self.http2 = group.ProtocolVersion in ("HTTP2", "GRPC")  # ALB sends HTTP/2 to its targets
        self.invokes_lambda = group.TargetType == "lambda"
        self.load_balancer_arns: tuple[str, ...] = ()  # whose listeners forward here (set by the reconciler)
        self.settings = TargetGroupSettings.of(group.attributes)  # recomputed by ``update`` only
        self.targets: dict[TargetKey, Target] = {}
        self.by_server_id: dict[bytes, Target] = {}  # QUIC groups: targets by their server ID (rebuilt by update)
        self.routable: list[Target] = []  # what new requests/flows may go to; rebuilt by refresh_routable()
        self.generation = 0  # bumped whenever ``routable`` changes
        self.picker = Picker()  # kept across updates: round robin goes on where it was
        self.stickiness = TargetStickiness(self.settings)

    @property
    def arn(self) -> str:
        return self.group.TargetGroupArn

    def update(self, group: TargetGroup, registrations: list[TargetRegistration], resolve: TargetAddress) -> None:
        """Apply the group's stored settings and registrations, keeping live state of surviving targets."""
        self.group = group
        settings = TargetGroupSettings.of(group.attributes)
        if settings != self.settings:
            self.settings, self.stickiness = settings, TargetStickiness(settings)
        current: dict[TargetKey, Target] = {}
        for reg in registrations:
            key: TargetKey = (self.arn, reg.Id, reg.Port)
            target = self.targets.get(key)
            server_id = bytes.fromhex(reg.QuicServerId[2:]) if reg.QuicServerId else None
            if target is None or target.server_id != server_id:  # (re-registered with another server ID)
                port = reg.Port if reg.Port is not None else (group.Port or 0)
                host = resolve(reg)
                target = Target(key, reg.Id, host or "", port, unusable=host is None, tls=self.tls,
                                server_id=server_id)
            target.draining = reg.deregistered_at is not None
            current[key] = target
        self.targets = current
        self.by_server_id = {t.server_id: t for t in current.values() if t.server_id is not None}
        self.refresh_routable()

    def refresh_routable(self) -> None:
        """Recompute the routable targets (health and fail-open: ``selection.routable``) and hand them to the
        picker and the stickiness index. Call after any change to a target's health, draining or slow start."""
        self.routable = routable_targets(self.targets.values(), self.settings)
        self.generation += 1
        self.picker.reset(self.routable, self.settings.algorithm)
        self.stickiness.reset(self.routable)
