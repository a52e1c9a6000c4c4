"""Faults injected on request, to test how clients cope with a misbehaving cloud.

Set through `POST /admin/faults` (JSON, authenticated) or a `faults.yaml` in the state dir
(re-read whenever it changes). Both take the same document; every key is optional:

    boot_errors: {count: 2, message: "No valid host was found."}  # next 2 boots -> ERROR
    boot_delay: 3.0                                              # seconds added to each boot
    api_errors:                                                  # fail matching calls
      - {method: POST, path: "^/compute/v2.1/servers$", status: 503, count: 1}
    no_sshd: {count: 1, name: "^vm-"}      # next matching server(s) boot without sshd

A key present in a new document replaces the current setting of that key.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FAULTS_FILE = "faults.yaml"


class FaultSpecError(ValueError):
    """The fault document is malformed; the message says where."""


@dataclass
class ApiFault:
    method: str
    path: re.Pattern[str]
    status: int
    count: int
    message: str = "Injected fault"


@dataclass
class Faults:
    boot_errors: int = 0
    boot_error_message: str = "No valid host was found. Injected fault."
    boot_delay: float = 0.0
    no_sshd: int = 0
    no_sshd_name: re.Pattern[str] | None = None
    api: list[ApiFault] = field(default_factory=list)


class FaultBook:
    """Thread-safe fault settings; counters are consumed as faults fire."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = Faults()
        self._file = state_dir / FAULTS_FILE if state_dir else None
        self._file_mtime: float | None = None

    def apply(self, doc: dict[str, Any]) -> None:
        """Merge a fault document (see module doc); raises FaultSpecError."""
        if not isinstance(doc, dict):
            raise FaultSpecError("fault document must be a mapping")
        with self._lock:
            f = self._faults
            try:
                if "boot_errors" in doc:
                    spec = doc["boot_errors"] or {}
                    f.boot_errors = int(spec.get("count", 1))
                    f.boot_error_message = str(spec.get("message", f.boot_error_message))
                if "boot_delay" in doc:
                    f.boot_delay = float(doc["boot_delay"] or 0)
                if "no_sshd" in doc:
                    spec = doc["no_sshd"] or {}
                    f.no_sshd = int(spec.get("count", 1))
                    f.no_sshd_name = re.compile(spec["name"]) if spec.get("name") else None
                if "api_errors" in doc:
                    f.api = [ApiFault(str(e.get("method", "*")).upper(), re.compile(e["path"]),
                                      int(e.get("status", 500)), int(e.get("count", 1)),
                                      str(e.get("message", "Injected fault")))
                             for e in doc["api_errors"] or []]
            except (TypeError, ValueError, KeyError, AttributeError, re.error) as exc:
                raise FaultSpecError(f"bad fault document: {exc!r}") from None

    def clear(self) -> None:
        with self._lock:
            self._faults = Faults()

    def describe(self) -> dict[str, Any]:
        self._reload()
        with self._lock:
            f = self._faults
            return {"boot_errors": {"count": f.boot_errors, "message": f.boot_error_message},
                    "boot_delay": f.boot_delay,
                    "no_sshd": {"count": f.no_sshd,
                                "name": f.no_sshd_name.pattern if f.no_sshd_name else None},
                    "api_errors": [{"method": a.method, "path": a.path.pattern, "status": a.status,
                                    "count": a.count} for a in f.api]}

    def _reload(self) -> None:
        if self._file is None:
            return
        try:
            mtime = self._file.stat().st_mtime
        except OSError:
            return
        if mtime == self._file_mtime:
            return
        self._file_mtime = mtime
        try:
            self.apply(yaml.safe_load(self._file.read_text()) or {})
        except (yaml.YAMLError, FaultSpecError) as exc:
            print(f"ignoring {self._file}: {exc}", flush=True)

    def api_fault(self, method: str, path: str) -> ApiFault | None:
        """The injected error for this call, if any (consumes one count)."""
        self._reload()
        with self._lock:
            for fault in self._faults.api:
                if fault.count > 0 and fault.method in ("*", method) and fault.path.search(path):
                    fault.count -= 1
                    return fault
        return None

    def boot_error(self) -> str | None:
        """The fault message for this boot, if it must fail (consumes one count)."""
        self._reload()
        with self._lock:
            if self._faults.boot_errors > 0:
                self._faults.boot_errors -= 1
                return self._faults.boot_error_message
        return None

    def boot_delay(self) -> float:
        self._reload()
        with self._lock:
            return self._faults.boot_delay

    def skip_sshd(self, server_name: str) -> bool:
        """True when this server must boot without sshd (consumes one count)."""
        self._reload()
        with self._lock:
            f = self._faults
            if f.no_sshd > 0 and (f.no_sshd_name is None or f.no_sshd_name.search(server_name)):
                f.no_sshd -= 1
                return True
        return False
