"""Pickling one moto backend (one service in one account and region) so that it can be restored as it was.

moto keeps every service's state as plain Python objects under one backend object per account and region,
so a pickle of that backend is an exact copy: the same IDs, timestamps, keys and object links. Two things
stand in the way of a plain ``pickle.dumps``:

- a few objects cannot be pickled: locks, Lambda's ``WeakValueDictionary`` of functions by ARN, a
  ``defaultdict`` whose factory is a lambda (``lambda: {}``), and the ``cryptography`` keys and
  certificates ACM keeps parsed; they are pickled as new locks, as a ``WeakValueDictionary`` of the same
  entries, as a ``defaultdict`` of the factory's result type, and as PEM that is parsed again;
- EC2's backend is ~0.8 MB of pickle (~30 ms to write), almost all of it the ~1,200 default AMIs and their
  snapshots moto creates with every region. Those are written once, as the region's *base*; every later
  pickle of the backend (the *body*) refers to them by table and ID. They change in place only through
  image and snapshot calls (launch permissions, attributes), and such a call rewrites the base.
"""

from __future__ import annotations

import collections
import copyreg
import functools
import io
import pickle
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

# Per service: the backend tables whose objects go in the base, and the words of the actions that can
# change those objects in place (any other action leaves them as the base has them).
BASE_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ec2": (("amis", "snapshots"), ("Image", "Snapshot")),
}
_BACKEND_REFERENCE = "backend"

# The loaders are plain functions of this module: cryptography's own are Rust builtins pickle cannot name.
def _private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, password=None)


def _public_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_public_key(pem)


def _certificate(pem: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem)


def _revocation_list(pem: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_crl(pem)


def _signing_request(pem: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_csr(pem)


def _reduce_private_key(key: Any) -> tuple[Callable[[bytes], Any], tuple[bytes]]:
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return _private_key, (pem,)


def _reduce_public_key(key: Any) -> tuple[Callable[[bytes], Any], tuple[bytes]]:
    from cryptography.hazmat.primitives import serialization

    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _public_key, (pem,)


def _reducer_of_x509(load: Callable[[bytes], Any]) -> Callable[[Any], tuple[Callable[[bytes], Any], tuple[bytes]]]:
    def reduce(parsed: Any) -> tuple[Callable[[bytes], Any], tuple[bytes]]:
        from cryptography.hazmat.primitives import serialization

        return load, (parsed.public_bytes(serialization.Encoding.PEM),)

    return reduce


def _reduce_defaultdict(table: collections.defaultdict) -> tuple[Any, ...]:
    factory = table.default_factory
    if factory is not None and "<lambda>" in getattr(factory, "__qualname__", ""):
        empty = factory()  # moto's lambdas make an empty container: its type is the same factory
        if type(empty) in (dict, list, set) and not empty:
            factory = type(empty)
    return collections.defaultdict, (factory,), None, None, iter(table.items())


@functools.cache
def _reducers() -> dict[type, Callable[[Any], Any]]:
    """The pickle dispatch table, built on first use (cryptography is not imported at start-up)."""
    from cryptography.hazmat.bindings._rust import openssl as rust_openssl
    from cryptography.hazmat.bindings._rust import x509 as rust_x509

    reducers: dict[type, Callable[[Any], Any]] = dict(copyreg.dispatch_table)
    reducers[type(threading.Lock())] = lambda _lock: (threading.Lock, ())
    reducers[type(threading.RLock())] = lambda _lock: (threading.RLock, ())
    reducers[weakref.WeakValueDictionary] = lambda table: (weakref.WeakValueDictionary, (dict(table),))
    reducers[collections.defaultdict] = _reduce_defaultdict
    # cryptography's keys and certificates are Rust types: the dispatch table is keyed by exact type.
    for algorithm in ("rsa", "ec", "ed25519", "ed448", "x25519", "x448", "dsa"):
        module = getattr(rust_openssl, algorithm, None)
        for name in dir(module) if module is not None else ():
            if name.endswith("PrivateKey"):
                reducers[getattr(module, name)] = _reduce_private_key
            elif name.endswith("PublicKey"):
                reducers[getattr(module, name)] = _reduce_public_key
    reducers[rust_x509.Certificate] = _reducer_of_x509(_certificate)
    reducers[rust_x509.CertificateRevocationList] = _reducer_of_x509(_revocation_list)
    reducers[rust_x509.CertificateSigningRequest] = _reducer_of_x509(_signing_request)
    return reducers


class BaseObjects:
    """The base's objects: id(object) -> (object, "table/ID"), and back; the objects are held so ids stay unique."""

    def __init__(self, tables: dict[str, dict[str, Any]]) -> None:
        self.by_reference = {f"{table}/{key}": obj for table, objects in tables.items() for key, obj in objects.items()}
        self.by_id = {id(obj): (obj, reference) for reference, obj in self.by_reference.items()}


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, references: dict[int, tuple[Any, str]]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = _reducers()
        self._references = references

    def persistent_id(self, obj: Any) -> str | None:
        entry = self._references.get(id(obj))
        return entry[1] if entry is not None and entry[0] is obj else None


def _dumps(obj: Any, references: dict[int, tuple[Any, str]]) -> bytes:
    buffer = io.BytesIO()
    if references:
        _Pickler(buffer, references).dump(obj)
    else:  # without references, the plain pickler (no Python call per object) is several times faster
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = _reducers()
        pickler.dump(obj)
    return buffer.getvalue()


def base_tables(service: str) -> tuple[str, ...]:
    return BASE_TABLES.get(service, ((), ()))[0]


def rewrites_base(service: str, action: str | None) -> bool:
    """Whether ``action`` may change the service's base objects in place (None: an unknown call, so yes)."""
    words = BASE_TABLES.get(service, ((), ()))[1]
    return bool(words) and (action is None or any(word in action for word in words))


def dump_base(service: str, backend: Any) -> tuple[bytes | None, BaseObjects | None]:
    """The base of a backend (None for services without one) and its objects, for ``dump_body``."""
    tables = {name: dict(getattr(backend, name, {})) for name in base_tables(service)}
    if not tables:
        return None, None
    return _dumps(tables, {id(backend): (backend, _BACKEND_REFERENCE)}), BaseObjects(tables)


def dump_body(backend: Any, base: BaseObjects | None) -> bytes:
    return _dumps(backend, base.by_id if base is not None else {})


class _Placeholder:
    """Stands for the backend while its base is read (the backend itself is in the body, read next)."""


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, references: dict[str, Any]) -> None:
        super().__init__(io.BytesIO(data))
        self._references = references

    def persistent_load(self, reference: str) -> Any:
        return self._references[reference]


def load(base: bytes | None, body: bytes) -> tuple[Any, BaseObjects | None]:
    """The backend written by ``dump_body`` over ``dump_base``, with its base objects linked back to it."""
    if base is None:
        return pickle.loads(body), None
    placeholder = _Placeholder()
    tables = _Unpickler(base, {_BACKEND_REFERENCE: placeholder}).load()
    objects = BaseObjects(tables)
    backend = _Unpickler(body, objects.by_reference).load()
    _relink(objects.by_reference.values(), placeholder, backend)
    return backend, objects


def _relink(roots: Iterable[Any], placeholder: _Placeholder, backend: Any) -> None:
    """Point every reference to ``placeholder`` in the base's object graph at ``backend``."""
    seen: set[int] = set()
    pending = list(roots)
    while pending:
        obj = pending.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            pending += obj.values()
        elif isinstance(obj, (list, tuple, set)):
            pending += obj
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            for name, value in vars(obj).items():
                if value is placeholder:
                    setattr(obj, name, backend)
                else:
                    pending.append(value)
