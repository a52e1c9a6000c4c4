"""The run's topology state, shared by every process of the run through one directory.

pytest-xdist runs the same session fixture in each worker: the first worker that needs a
piece builds it while holding a file lock and records it in a JSON file; the others wait on
the lock, then read the record (and the private key from the same directory).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from pytest_vmtp.cloud.errors import CloudError


def _empty(run_id: str) -> dict[str, Any]:
    # ids: per role, what was made for its VM (server, port made first, floating IP): what a
    # minimal footprint deletes to make room for the next client.
    return {"run_id": run_id, "resources": {}, "vms": {}, "errors": {}, "timings": {}, "ids": {}}


class SharedState:
    def __init__(self, shared_dir: Path, run_id: str, lock_timeout: float) -> None:
        self.dir = Path(shared_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / f"vmtp-{run_id}-topology.json"
        self.run_id = run_id
        self._lock = FileLock(str(self.dir / f"vmtp-{run_id}-topology.lock"), timeout=lock_timeout)

    def read(self) -> dict[str, Any]:
        """The last saved state (writes are atomic renames, so no lock is needed to read)."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return _empty(self.run_id)
        for key, value in _empty(self.run_id).items():
            data.setdefault(key, value)
        return data

    def write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[dict[str, Any]]:
        """Hold the lock; yield the current state; save it on exit, also after a failure, so
        whatever was made before the failure is recorded."""
        try:
            self._lock.acquire()
        except Timeout:
            raise CloudError(f"another process has held the topology lock {self._lock.lock_file} for "
                             f"{self._lock.timeout:.0f} s: is a build stuck?") from None
        try:
            data = self.read()
            try:
                yield data
            finally:
                self.write(data)
        finally:
            self._lock.release()
