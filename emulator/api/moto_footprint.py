"""Keep moto's idle memory small: its EC2 import does only the work a session needs, and gives back the rest.

Measured with ``scripts/bench_api.py`` (idle RSS after warm-up, 2 CPUs): 195 MB before. Importing
``moto.ec2.models``

- parses the instance-type offerings of every region and location type (~50 MB of Python objects) although
  a session touches one or two regions: here moto's import-time loop sees an empty offerings directory, and
  each location type's table reads a region's file on first lookup (moto reads them only as
  ``table[region]`` / ``table.get(region)``);
- builds three boto3 ``Session``s (~20 MB of endpoint data each) just to list EC2's regions, and the garbage
  they leave, interleaved with the module objects created meanwhile, fragments the heap: here the three
  region lists are computed first, by the one session below, its garbage freed before the import starts,
  and the import's ``boto3.Session()`` calls (on the importing thread only) get those lists;
- and then, for every account's backend of every service, moto asks one boto3 ``Session`` it keeps for the
  process's lifetime which regions the service has: that session holds botocore's parsed endpoint table and
  each service's model it read to find the service's endpoint prefix: EC2's alone is 14 MB (measured: 162 MB
  after a typical test session with it). Here moto's ``AccountSpecificBackend.get_session`` answers from the
  same region lists, each service's computed once by the session above, which forgets each service model
  once it has read its endpoint prefix, and is dropped with botocore's endpoint table (7 MB) once the
  services the emulator itself uses have theirs (another service's first use builds a new one).

Finally the warm-up collects cyclic garbage and asks glibc to return freed pages (``malloc_trim``). moto's
default AMIs stay: with moto 5.2 they cost ~3.5 MB once EC2 is first used (``MOTO_EC2_LOAD_DEFAULT_AMIS=false``
measured 136 vs 140 MB), and tools look them up (DescribeImages, Terraform's ``aws_ami``).

All of it is an optimisation: if moto's layout changes, moto loads its tables as usual.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

_OFFERINGS_DIR = "instance_type_offerings"
_INSTANCE_TYPES_MODULE = "moto.ec2.models.instance_types"
_SERVICES_IN_USE = ("ec2", "acm", "s3", "cloudwatch")  # the moto backends the emulator itself reads and writes
_RegionKey = tuple[str, str, bool]  # (service, partition, allow_non_regional)


class _OfferingsByRegion(dict[str, list[dict[str, Any]]]):
    """One location type's offerings (``region``, ``availability-zone``, ...), each region read on first use."""

    def __init__(self, location_type: str) -> None:
        super().__init__()
        self._location_type = location_type

    def __missing__(self, region: str) -> list[dict[str, Any]]:
        from moto.utilities.utils import load_resource

        resource = f"../resources/{_OFFERINGS_DIR}/{self._location_type}/{region}.json"
        try:
            offerings = load_resource(_INSTANCE_TYPES_MODULE, resource)
        except FileNotFoundError:
            raise KeyError(region) from None
        for offering in offerings:
            offering["LocationType"] = self._location_type  # as moto's own loader marks them
        self[region] = offerings
        return offerings

    def get(self, region: str, default: Any = None) -> Any:
        try:
            return self[region]
        except KeyError:
            return default


_installed: _RegionLists | None = None  # what moto's AccountSpecificBackend.get_session returns


class _RegionLists:
    """What moto asks of ``boto3.Session()``: partitions and region lists, computed once each by one session
    that forgets each service model it reads (``_forget_models``). Thread-safe."""

    def __init__(self, real_session: Callable[[], Any]) -> None:
        self._real_session = real_session
        self._session: Any = real_session()
        self._partitions: list[str] = self._session.get_available_partitions()
        self._lists: dict[_RegionKey, list[str]] = {}
        self._lock = threading.Lock()

    def settle(self, services: tuple[str, ...]) -> None:
        """Compute the lists of ``services`` now, then drop the session (botocore's endpoint table, 7 MB): a
        service asked about later gets a new one."""
        for service in services:
            self.get_available_regions(service)
        with self._lock:
            self._session = None

    def get_available_partitions(self) -> list[str]:
        return list(self._partitions)

    def get_available_regions(self, service_name: str, partition_name: str = "aws", allow_non_regional: bool = False) -> list[str]:
        key = (service_name, partition_name, allow_non_regional)
        with self._lock:
            if key not in self._lists:
                if self._session is None:
                    self._session = self._real_session()
                for partition in {*self._partitions, partition_name}:  # every partition's list at once
                    self._lists[(service_name, partition, allow_non_regional)] = self._session.get_available_regions(
                        service_name, partition, allow_non_regional)
                self._forget_models()
            return list(self._lists[key])

    def _forget_models(self) -> None:
        """Drop what botocore's loader cached but the endpoint table (its resolver holds it anyway)."""
        loader = self._session._session.get_component("data_loader")
        cache = getattr(loader, "_cache", None)
        if isinstance(cache, dict):
            for key in [key for key in cache if key != ("load_data_with_path", "endpoints")]:
                del cache[key]


@contextmanager
def _lean_ec2_import(regions: _RegionLists) -> Iterator[None]:
    """While moto's EC2 models import on this thread: no offerings files, region lists without sessions."""
    import boto3

    real_listdir, real_session = os.listdir, boto3.Session
    importer = threading.get_ident()

    def listdir(path: Any = ".") -> list[str]:
        return [] if Path(path).name == _OFFERINGS_DIR else real_listdir(path)

    def session(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != importer or args or kwargs:
            return real_session(*args, **kwargs)
        return regions

    # moto's modules bind ``from os import listdir`` / ``from boto3 import Session`` as they import.
    with patch.object(os, "listdir", listdir), patch.object(boto3, "Session", session):
        yield


def import_ec2_lazily() -> None:
    """Import moto's EC2 models with the offerings tables loaded per region on demand, and let every moto
    backend take its regions from lists instead of a session kept forever."""
    import boto3
    from moto.core.base_backend import AccountSpecificBackend

    real_session = boto3.Session
    global _installed
    regions = _installed = _RegionLists(real_session)
    regions.get_available_regions("ec2")  # (its garbage is freed before the import allocates long-lived objects)
    release_free_memory()  # before the import allocates its long-lived objects around the garbage
    if isinstance(AccountSpecificBackend.__dict__.get("get_session"), classmethod):
        AccountSpecificBackend.get_session = classmethod(lambda cls: regions)  # type: ignore[method-assign, assignment]
    with _lean_ec2_import(regions):
        import moto.ec2.models  # noqa: F401
        import moto.ec2.models.instance_types as instance_types
    tables = getattr(instance_types, "INSTANCE_TYPE_OFFERINGS", None)
    if not isinstance(tables, dict):  # another moto layout: it loaded its tables its own way
        return
    directory = Path(instance_types.__file__).parent.parent / "resources" / _OFFERINGS_DIR
    for location_type in os.listdir(directory):
        tables[location_type] = _OfferingsByRegion(location_type)


def settle_region_lists() -> None:
    """Once the warm-up has imported what the emulator uses: compute those services' region lists, and drop
    the session that computed them."""
    if _installed is not None:
        _installed.settle(_SERVICES_IN_USE)


def release_free_memory() -> None:
    """Collect cyclic garbage and return freed heap pages to the OS (the latter with glibc only)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
