"""Functions' code unpacked on disk, once per code digest (a warm worker and every later one share it)."""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
import zipfile
from pathlib import Path


class CodeCache:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="elbv2-emulator-lambda-"))
        self._unpacked: dict[str, Path] = {}

    def unpack(self, code_sha256: str, code: bytes) -> Path:
        """The directory holding ``code`` (a zip) unpacked: the function's LAMBDA_TASK_ROOT. Blocking (file
        I/O): called off the runtime's event loop."""
        key = code_sha256 or hashlib.sha256(code).hexdigest()
        found = self._unpacked.get(key)
        if found is not None:
            return found
        target = self.root / hashlib.sha256(key.encode()).hexdigest()[:32]
        partial = target.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(partial)  # (zipfile refuses members that would land outside ``partial``)
            for info in archive.infolist():  # keep executable bits (scripts, native binaries)
                mode = info.external_attr >> 16
                if mode & 0o111:
                    (partial / info.filename).chmod(mode & 0o777)
        partial.rename(target)
        self._unpacked[key] = target
        return target

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
