"""Keep moto's idle memory small: its EC2 import does only the work a session needs, and gives back the rest.

Measured with ``scripts/bench_api.py`` (idle RSS after warm-up, 2 CPUs): 195 MB before. Importing
``moto.ec2.models``

- parses the instance-type offerings of every region and location type (~50 MB of Python objects) although
  a session touches one or two regions: here moto's import-time loop sees an empty offerings directory, and
  each location type's table reads a region's file on first lookup (moto reads them only as
  ``table[region]`` / ``table.get(region)``);
- builds three boto3 ``Session``s (~20 MB of endpoint data each) just to list EC2's regions, and the garbage
  they leave, interleaved with the module objects created meanwhile, fragments the heap: here the three
  region lists are computed first, with one session that is freed before the import starts, and the
  import's ``boto3.Session()`` calls (on the importing thread only) get those lists.

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
_EC2_PARTITIONS = ("aws", "aws-us-gov", "aws-cn")  # the ones moto's region table lists
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


class _RegionLists:
    """What moto's EC2 import asks of ``boto3.Session()``: region lists, answered from precomputed ones."""

    def __init__(self, lists: dict[_RegionKey, list[str]], real_session: Callable[[], Any]) -> None:
        self._lists = lists
        self._real_session = real_session

    def get_available_regions(self, service_name: str, partition_name: str = "aws", allow_non_regional: bool = False) -> list[str]:
        key = (service_name, partition_name, allow_non_regional)
        if key not in self._lists:
            self._lists[key] = self._real_session().get_available_regions(*key)
        return list(self._lists[key])


def _ec2_region_lists(real_session: Callable[[], Any]) -> dict[_RegionKey, list[str]]:
    session = real_session()
    return {("ec2", partition, False): session.get_available_regions("ec2", partition) for partition in _EC2_PARTITIONS}


@contextmanager
def _lean_ec2_import() -> Iterator[None]:
    """While moto's EC2 models import on this thread: no offerings files, region lists without sessions."""
    import boto3

    real_listdir, real_session = os.listdir, boto3.Session
    lists = _ec2_region_lists(real_session)
    release_free_memory()  # before the import allocates its long-lived objects around the garbage
    importer = threading.get_ident()

    def listdir(path: Any = ".") -> list[str]:
        return [] if Path(path).name == _OFFERINGS_DIR else real_listdir(path)

    def session(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != importer or args or kwargs:
            return real_session(*args, **kwargs)
        return _RegionLists(lists, real_session)

    # moto's modules bind ``from os import listdir`` / ``from boto3 import Session`` as they import.
    with patch.object(os, "listdir", listdir), patch.object(boto3, "Session", session):
        yield


def import_ec2_lazily() -> None:
    """Import moto's EC2 models with the offerings tables loaded per region on demand."""
    with _lean_ec2_import():
        import moto.ec2.models  # noqa: F401
        import moto.ec2.models.instance_types as instance_types
    tables = getattr(instance_types, "INSTANCE_TYPE_OFFERINGS", None)
    if not isinstance(tables, dict):  # another moto layout: it loaded its tables its own way
        return
    directory = Path(instance_types.__file__).parent.parent / "resources" / _OFFERINGS_DIR
    for location_type in os.listdir(directory):
        tables[location_type] = _OfferingsByRegion(location_type)


def release_free_memory() -> None:
    """Collect cyclic garbage and return freed heap pages to the OS (the latter with glibc only)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
