"""Assemble and run the emulator: store, control plane, data plane and the HTTP API server."""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator import local_aws
from emulator.api import moto_footprint
from emulator.api.app import create_app
from emulator.api.host_routing import HostRouter
from emulator.api.http_server import ApiHttpServer
from emulator.api.origins import OriginSettings
from emulator.api.persisting import PersistingApp
from emulator.control.context import Services
from emulator.dataplane.addresses import ListenerPorts
from emulator.dataplane.engine import DataPlane
from emulator.dataplane.published_ports import PortRange, PublishedPorts
from emulator.dns import DnsResponder
from emulator.lambdas.runtime import LocalLambdaRuntime
from emulator.observability.console import RequestPrinter
from emulator.observability.hub import ObservationHub
from emulator.observability.metrics_setup import metrics_pipeline
from emulator.observability.recent import RecentTraffic
from emulator.observability.s3_delivery import S3LogDelivery
from emulator.store import SqlitePersistence, Store, TargetHealthBoard
from emulator.store.services_state import ServicesState
from emulator.timing import Timing

log = logging.getLogger("elbv2_emulator")


def _warm_up_moto(ec2_imported: threading.Event, restore: Callable[[threading.Event], None] | None) -> None:
    """Import moto's EC2, ACM and S3 models off the start-up path (together about a second), restore the
    stored state of moto's services (``restore``, with --state-dir), give the import's garbage back to the
    OS, and take the long-lived start-up heap out of the garbage collector's sight: a full collection over
    it stalled every listener for ~50 ms (the ALB's new-connection p99 in scripts/bench_dataplane.py)."""
    if restore is not None:  # ACM at once (certificates for TLS listeners), the rest once EC2 is imported
        restorer = threading.Thread(target=restore, args=(ec2_imported,), name="moto-restore", daemon=True)
        restorer.start()
    try:
        moto_footprint.import_ec2_lazily()
    finally:
        ec2_imported.set()
    import moto.acm.models  # noqa: F401
    import moto.s3.models  # noqa: F401

    if restore is not None:
        restorer.join()
    moto_footprint.settle_region_lists()
    moto_footprint.release_free_memory()
    gc.freeze()


def _acm_validation_wait(timing: Timing) -> None:
    """How old a requested ACM certificate is when moto reports it ISSUED (as if its DNS or email validation
    had completed): moto's 60 s on this clock, whole seconds, so at once with fast timing, and Terraform's
    aws_acm_certificate_validation or an HTTPS listener does not wait a minute. MOTO_ACM_VALIDATION_WAIT,
    when set, is moto's own setting and wins."""
    import moto.settings

    if "MOTO_ACM_VALIDATION_WAIT" not in os.environ:
        moto.settings.ACM_VALIDATION_WAIT = int(timing.seconds(60))


SECURITY_GROUPS_ENV = "ELBV2_EMULATOR_SECURITY_GROUPS"  # "enforce" (the default) or "off"
OBSERVABILITY_ENV = "ELBV2_EMULATOR_OBSERVABILITY"  # "on" (the default) or "off"
LISTENER_PORTS_ENV = "ELBV2_EMULATOR_LISTENER_PORTS"  # e.g. "4510-4559"; unset: listeners bind their own ports


class EmulatorServer:
    """The whole emulator in one object; ``start()`` runs it on background threads."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4566,
        state_dir: Path | None = None,
        timing: Timing | None = None,
        dns_port: int | None = None,
        listen_host: str | None = None,
        origins: OriginSettings | None = None,
        enforce_security_groups: bool | None = None,
        observability: bool | None = None,
        log_requests: bool = False,
        listener_ports: PortRange | None = None,
    ) -> None:
        """``enforce_security_groups``: load balancers admit only the sources their security groups allow (README
        "Security groups"); False admits every source; None (the default) reads ``SECURITY_GROUPS_ENV``, on
        unless it says ``off``. ``observability``: record traffic for access logs, metrics and the dashboard
        (README "Observability"); None reads ``OBSERVABILITY_ENV``, on unless it says ``off``. ``log_requests``:
        print each ALB request and NLB flow in access-log form on stdout (README "Access logs").
        ``listener_ports``: every listener binds a port of this range instead of its own (README "Reaching
        listeners from outside a container"); None reads ``LISTENER_PORTS_ENV``."""
        if observability is None:
            observability = os.environ.get(OBSERVABILITY_ENV, "on") != "off"
        self.observations = ObservationHub() if observability else None
        self.recent_traffic = RecentTraffic() if self.observations is not None else None  # the dashboard's feed
        if self.observations is not None and self.recent_traffic is not None:
            self.observations.subscribe(self.recent_traffic)
        if enforce_security_groups is None:
            enforce_security_groups = os.environ.get(SECURITY_GROUPS_ENV, "enforce") != "off"
        timing = timing or Timing.named("fast")
        _acm_validation_wait(timing)
        if listener_ports is None and os.environ.get(LISTENER_PORTS_ENV):
            listener_ports = PortRange.parse(os.environ[LISTENER_PORTS_ENV])
        published = PublishedPorts(listener_ports) if listener_ports is not None else None
        persistence = SqlitePersistence(state_dir) if state_dir is not None else None
        self._moto_state = ServicesState(state_dir) if state_dir is not None else None
        self.services = Services(Store(persistence), TargetHealthBoard(), timing,
                                 ListenerPorts(listen_host, published))
        if self.observations is not None:  # access, connection and health check logs (README "Access logs")
            self.observations.subscribe(S3LogDelivery(self.services.store, self.services.timing))
            if log_requests:
                self.observations.subscribe(RequestPrinter(), every_request=True)
        self.metrics = None if self.observations is None else metrics_pipeline(
            self.services.store, self.services.health, self.services.timing)
        if self.observations is not None and self.metrics is not None:
            self.observations.subscribe(self.metrics.aggregator)  # CloudWatch metrics, alarms, Prometheus
        certificates, instance_address = local_aws.certificate_material, local_aws.instance_address
        security_groups, web_acls = local_aws.security_groups, local_aws.web_acl
        if self._moto_state is not None:  # the data plane's lookups into moto wait for moto's restored state
            certificates = self._moto_state.after_restore("acm", certificates)
            instance_address = self._moto_state.after_restore("ec2", instance_address)
            security_groups = self._moto_state.after_restore("ec2", security_groups)
            web_acls = self._moto_state.after_restore("wafv2", web_acls)
        self.lambdas = LocalLambdaRuntime()  # ALB lambda targets and Lambda Invoke (README "Lambda targets")
        self.dataplane = DataPlane(
            self.services.store,
            self.services.health,
            self.services.timing,
            certificates=certificates,
            instance_address=instance_address,
            listen_host=listen_host,
            security_groups=security_groups if enforce_security_groups else None,
            web_acls=web_acls,
            observer=self.observations,
            published=published,
            lambdas=self.lambdas,
        )
        app: Any = create_app(self.services, self.dataplane, host, origins,
                              prometheus=self.metrics.exporter if self.metrics is not None else None,
                              feed=self.recent_traffic, lambdas=self.lambdas)
        if self._moto_state is not None:
            app = PersistingApp(app, self._moto_state)
        self._http = ApiHttpServer(host, port, app, HostRouter(self.services.store, self.dataplane))
        self.lambdas.use_endpoint(self.url)  # (the port is bound now: a handler's SDK calls come back here)
        self._thread: threading.Thread | None = None
        self._dns = DnsResponder(self.services.store, host, dns_port, listen_host) if dns_port is not None else None

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def _start_planes(self) -> None:
        restore = self._moto_state.restore if self._moto_state is not None else None
        threading.Thread(target=_warm_up_moto, args=(threading.Event(), restore), name="moto-warm-up", daemon=True).start()
        if self.observations is not None:
            self.observations.start()
        self.dataplane.start()
        if self._dns is not None:
            self._dns.start()

    def start(self) -> EmulatorServer:
        self._start_planes()
        self._thread = threading.Thread(target=self._http.serve_forever, name="elbv2-api", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._start_planes()
        log.info("elbv2-emulator ready on %s (dashboard: %s/_emulator/ui)", self.url, self.url)
        try:
            self._http.serve_forever()
        finally:
            self.dataplane.stop()
            self.lambdas.stop()
            if self.observations is not None:
                self.observations.stop()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self.dataplane.stop()
        self.lambdas.stop()
        if self.observations is not None:
            self.observations.stop()
        if self._dns is not None:
            self._dns.stop()
