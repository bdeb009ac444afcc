"""Access, connection and health check logs delivered to S3 as AWS delivers them: gzip objects in the bucket
and under the prefix each load balancer's attributes name, written into moto's in-process S3.

A hub ``Consumer``: each record of a batch is formatted (``access_log``, ``nlb_access_log``, ``connection_log``,
``health_check_log``) for every load balancer that enables that log (``access_logs.s3.enabled``,
``connection_logs.s3.enabled``, ``health_check_logs.s3.enabled``, with ``.bucket`` and ``.prefix``) and
buffered per (load balancer, log kind, destination). AWS publishes a file per load balancer node every 5
minutes ("Access log files"); the emulator closes its windows on the same clock, scaled by ``--timing``
(5 minutes with ``aws``, 3 seconds with ``fast``), and also on ``flush`` (``ObservationHub.flush``, shutdown).

Object keys follow the user guides' file names:

    <prefix>/AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/<file>
    ALB access:   <account>_elasticloadbalancing_<region>_app.<name>.<id>_<end-time>_<ip>_<random>.log.gz
    NLB access:   <account>_elasticloadbalancing_<region>_net.<name>.<id>_<end-time>_<random>.log.gz
    connection:   conn_log.<account>_elasticloadbalancing_<region>_app.<name>.<id>_<end-time>_<ip>_<random>.log.gz
    health check: health_check_log_<account>_elasticloadbalancing_<region>_app.<name>.<id>_<end-time>_<ip>_<random>.log.gz

``end-time`` is the window's end (``20140215T2340Z``), ``ip`` the load balancer's address, the date the
delivery's. A bucket that does not exist (AWS refuses such an attribute change; the emulator does not yet)
drops the window's lines with a warning.
"""

from __future__ import annotations

import logging
import math
import secrets
import string
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from api_models.identifiers import arn_region_account
from api_models.observations import ConnectionRecord, FlowRecord, RequestRecord
from api_models.resources import LoadBalancer
from emulator.observability.access_log import format_request, resource_id
from emulator.observability.connection_log import format_connection, is_logged
from emulator.observability.health_check_log import format_health_check
from emulator.observability.hub import Batch
from emulator.observability.nlb_access_log import format_flow
from emulator.store import Store
from emulator.store.store import Change
from emulator.timing import Timing

log = logging.getLogger("elbv2_emulator.observability.s3")

AWS_INTERVAL_SECONDS = 300.0  # "Elastic Load Balancing publishes a log file for each load balancer node every 5 minutes"
_RANDOM_ALPHABET = string.ascii_lowercase + string.digits
R = TypeVar("R", RequestRecord, FlowRecord, ConnectionRecord)


@dataclass(frozen=True, slots=True)
class LogKind:
    attribute: str  # the attribute prefix: access_logs | connection_logs | health_check_logs
    file_prefix: str  # what AWS puts before <account> in the file name
    with_address: bool  # whether the file name carries the load balancer node's address


ACCESS = LogKind("access_logs", "", with_address=True)
NLB_ACCESS = LogKind("access_logs", "", with_address=False)
CONNECTION = LogKind("connection_logs", "conn_log.", with_address=True)
HEALTH_CHECK = LogKind("health_check_logs", "health_check_log_", with_address=True)


_GZIP = 31  # zlib's wbits for a gzip header and trailer (and a 32 KB window)


@dataclass(frozen=True, slots=True)
class Destination:
    bucket: str
    prefix: str
    address: str  # the load balancer's address, the file name's node ip


@dataclass(slots=True)
class _Window:
    """One log file being filled: its lines are gzip-compressed as each batch ends (``seal``), so a window of a
    busy load balancer holds kilobytes, not the megabytes its lines would (five minutes of them with AWS's
    timing), and zlib, which releases the GIL, compresses them beside the data plane rather than all at once.
    Level 1: any level is gzip as AWS writes it, and the lowest costs the least CPU."""

    due: float  # when the window ends and the file is written
    lines: list[str] = field(default_factory=list)  # this batch's, not yet compressed
    count: int = 0  # lines in the file so far
    compressed: list[bytes] = field(default_factory=list)
    compressor: zlib._Compress = field(default_factory=lambda: zlib.compressobj(1, zlib.DEFLATED, _GZIP))

    def seal(self) -> None:
        """Compress the lines added since the last call."""
        if self.lines:
            self.count += len(self.lines)
            self.compressed.append(self.compressor.compress(("\n".join(self.lines) + "\n").encode()))
            self.lines.clear()

    def body(self) -> bytes:
        """The whole gzip file."""
        self.seal()
        return b"".join([*self.compressed, self.compressor.flush()])


def _log_key(kind: LogKind, load_balancer_arn: str, destination: Destination, end: float) -> str:
    region, account = arn_region_account(load_balancer_arn)
    end_time = datetime.fromtimestamp(end, UTC)
    delivered = datetime.fromtimestamp(time.time(), UTC)
    parts = [kind.file_prefix + account, "elasticloadbalancing", region,
             resource_id(load_balancer_arn).replace("/", "."), end_time.strftime("%Y%m%dT%H%MZ")]
    if kind.with_address:
        parts.append(destination.address)
    parts.append("".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(8)))
    folder = f"AWSLogs/{account}/elasticloadbalancing/{region}/{delivered:%Y/%m/%d}"
    prefix = destination.prefix.strip("/")
    return (f"{prefix}/" if prefix else "") + f"{folder}/{'_'.join(parts)}.log.gz"


def _put_object(bucket: str, key: str, body: bytes) -> bool:
    """Write into moto's S3 (in-process, no HTTP); False when no account owns the bucket. Bucket names are
    global: the owner is found by name. moto is imported here, not at start (``emulator.api.moto_footprint``)."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return False
    partition, account = owner
    s3_backends[account][partition].put_object(bucket, key, body)
    return True


class S3LogDelivery:
    """The hub consumer that writes the S3 logs (``emulator.observability.hub.Consumer``)."""

    def __init__(self, store: Store, timing: Timing) -> None:
        self._store = store
        self._interval = timing.seconds(AWS_INTERVAL_SECONDS)
        self._windows: dict[tuple[LogKind, str, Destination], _Window] = {}
        # Load balancer ARN -> its stored resource (None: gone); dropped at every store commit, so an attribute
        # change applies from the next record. Read on the hub's thread, reset on the committing thread.
        self._load_balancers: dict[str, LoadBalancer | None] = {}
        store.subscribe(self._forget_load_balancers)

    # -- the Consumer protocol (the hub's thread) ---------------------------------------------------------------

    def take(self, batch: Batch) -> None:
        self._take(batch)
        for window in self._windows.values():
            window.seal()

    def _take(self, batch: Batch) -> None:
        self._add_all(ACCESS, batch.requests, format_request)
        # "Access logs are created only if the load balancer has a TLS listener"
        self._add_all(NLB_ACCESS, [flow for flow in batch.flows if flow.protocol == "TLS"], format_flow)
        self._add_all(CONNECTION, [record for record in batch.connections if is_logged(record)], format_connection)
        for check in batch.health_checks:
            for load_balancer_arn in check.load_balancer_arns:
                destination = self._destination(HEALTH_CHECK, load_balancer_arn)
                if destination is not None:
                    self._window(HEALTH_CHECK, load_balancer_arn, destination).append(format_health_check(check))

    def tick(self, now: float) -> None:
        due = [key for key, window in self._windows.items() if window.due <= now]
        for key in due:
            self._deliver(key, self._windows.pop(key))

    def flush(self) -> None:
        windows, self._windows = self._windows, {}
        for key, window in windows.items():
            self._deliver(key, window)

    # -- internals ----------------------------------------------------------------------------------------------

    def _forget_load_balancers(self, changes: list[Change]) -> None:
        self._load_balancers = {}

    def _destination(self, kind: LogKind, load_balancer_arn: str) -> Destination | None:
        cache = self._load_balancers
        if load_balancer_arn not in cache:
            cache[load_balancer_arn] = self._store.get(LoadBalancer, load_balancer_arn)
        load_balancer = cache[load_balancer_arn]
        if load_balancer is None:
            return None
        # A stored load balancer carries every key of its type's set (a key it lacks is a log its type does not
        # have: health check logs on an NLB).
        attributes = load_balancer.attributes
        bucket = attributes.get(f"{kind.attribute}.s3.bucket", "")
        if attributes.get(f"{kind.attribute}.s3.enabled") != "true" or not bucket:
            return None
        return Destination(bucket, attributes.get(f"{kind.attribute}.s3.prefix", ""), load_balancer.address)

    def _add_all(self, kind: LogKind, records: list[R], formatter: Callable[[R], str]) -> None:
        """Each record's line, in the window of its load balancer's destination (most have none: checked once
        per load balancer and batch)."""
        windows: dict[str, list[str] | None] = {}  # load balancer ARN -> its window's lines (None: it writes none)
        for record in records:
            load_balancer_arn = record.load_balancer_arn
            try:
                lines = windows[load_balancer_arn]
            except KeyError:
                destination = self._destination(kind, load_balancer_arn)
                lines = windows[load_balancer_arn] = (
                    None if destination is None else self._window(kind, load_balancer_arn, destination))
            if lines is not None:
                lines.append(formatter(record))

    def _window(self, kind: LogKind, load_balancer_arn: str, destination: Destination) -> list[str]:
        """The lines of the file being filled for ``destination``."""
        key = (kind, load_balancer_arn, destination)
        window = self._windows.get(key)
        if window is None:
            # Windows are aligned on the interval, as AWS's are on the 5-minute marks.
            due = (math.floor(time.time() / self._interval) + 1) * self._interval
            window = self._windows[key] = _Window(due)
        return window.lines

    def _deliver(self, key: tuple[LogKind, str, Destination], window: _Window) -> None:
        kind, load_balancer_arn, destination = key
        object_key = _log_key(kind, load_balancer_arn, destination, window.due)
        body = window.body()
        if not _put_object(destination.bucket, object_key, body):
            log.warning("%s of %s: bucket %r does not exist, %d lines dropped",
                        kind.attribute, load_balancer_arn, destination.bucket, window.count)
