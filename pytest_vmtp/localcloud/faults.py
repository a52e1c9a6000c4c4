"""Faults injected on request, to test how clients cope with a misbehaving cloud.

Set through `POST /admin/faults` (JSON, authenticated) or a `faults.yaml` in the state dir
(re-read whenever it changes). Both take the same document (faultspec.py has its shape, the
README every key); a new document replaces the previous one as a whole, so a key it leaves
out is no fault any more. This book keeps the document, consumes its counters as the API
and the builder ask, and tells its listeners (faultplane.py: the data path) of each change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from .faultspec import ApiFault, BootFault, FaultDoc, FaultSpecError, parse

__all__ = ["FAULTS_FILE", "ApiFault", "BootFault", "FaultBook", "FaultSpecError"]

FAULTS_FILE = "faults.yaml"
STUCK_POLL_S = 0.1

Listener = Callable[[FaultDoc, float], None]


class FaultBook:
    """Thread-safe fault settings; counters are consumed as faults fire."""

    def __init__(self, state_dir: Path | None = None, hosts: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._doc = FaultDoc()
        self._raw: Any = {}
        self._set_at = time.monotonic()
        self._generation = 0
        self._hosts = list(hosts)
        self._file = state_dir / FAULTS_FILE if state_dir else None
        self._file_mtime: float | None = None
        self.file_error: str | None = None
        self._listeners: list[Listener] = []

    # -- setting ----------------------------------------------------------------------------
    def apply(self, doc: Any) -> None:
        """Replace the document (see module doc); FaultSpecError leaves the old one in place."""
        parsed = parse(doc, self._hosts)
        with self._lock:
            self._doc, self._raw = parsed, doc or {}
            self._set_at = time.monotonic()
            self._generation += 1
            listeners = list(self._listeners)
            set_at = self._set_at
        for listener in listeners:
            listener(parsed, set_at)

    def clear(self) -> None:
        self.apply({})

    def listen(self, listener: Listener) -> None:
        """Call listener(doc, monotonic time it was set) on every change (and now)."""
        with self._lock:
            self._listeners.append(listener)
            doc, set_at = self._doc, self._set_at
        listener(doc, set_at)

    def reload(self) -> None:
        """Re-read faults.yaml when it changed; a bad file is one line in the log, kept in
        file_error for `vmtp-localcloud status`, and leaves the current faults alone."""
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
            self.apply(yaml.safe_load(self._file.read_text()))
            self.file_error = None
        except (OSError, yaml.YAMLError, FaultSpecError) as exc:
            line = " ".join(str(exc).split())
            self.file_error = f"{self._file.name}: {line}"
            logging.error("ignoring %s", self.file_error)

    # -- reading ----------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """The document in force (as given) with the counters left, and the file's error."""
        self.reload()
        with self._lock:
            doc = self._doc
            return {"document": self._raw,
                    "boot_delay": doc.boot_delay,
                    "boot_errors": [{"count": _shown(b.count), "kind": b.kind,
                                     "name": b.name.pattern if b.name else None,
                                     "message": b.message} for b in doc.boot_errors],
                    "no_sshd": {"count": _shown(doc.no_sshd),
                                "name": doc.no_sshd_name.pattern if doc.no_sshd_name else None},
                    "api_errors": [{"method": a.method, "path": a.path.pattern,
                                    "status": a.status, "retry_after": a.retry_after,
                                    "delay_s": a.delay_s, "reset": a.reset,
                                    "after_commit": a.after_commit,
                                    "count": _shown(a.count)} for a in doc.api_errors],
                    "data_path": len(doc.data_path),
                    "file_error": self.file_error}

    def api_fault(self, method: str, path: str) -> ApiFault | None:
        """The injected answer for this call, if any (consumes one count)."""
        self.reload()
        with self._lock:
            faults = list(self._doc.api_errors)
            for i, fault in enumerate(faults):
                if fault.count != 0 and fault.method in ("*", method) and fault.path.search(path):
                    if fault.count is not None:
                        faults[i] = replace(fault, count=fault.count - 1)
                        self._doc = replace(self._doc, api_errors=tuple(faults))
                    return fault
        return None

    def boot_fault(self, server_name: str) -> BootFault | None:
        """What this boot must do instead of booting normally, if anything (consumes one).

        No reload here or below: the builder asks with the state lock held, and a reload
        calls the listeners, which take it (the API's calls and the watcher reload)."""
        with self._lock:
            faults = list(self._doc.boot_errors)
            for i, fault in enumerate(faults):
                if fault.count != 0 and (fault.name is None or fault.name.search(server_name)):
                    if fault.count is not None:
                        faults[i] = replace(fault, count=fault.count - 1)
                        self._doc = replace(self._doc, boot_errors=tuple(faults))
                    return fault
        return None

    def boot_error(self) -> str | None:
        """The fault message for this boot, if it must fail (any name; consumes one)."""
        fault = self.boot_fault("")
        return fault.message if fault is not None and fault.kind == "error" else None

    def boot_delay(self) -> float:
        with self._lock:
            return self._doc.boot_delay

    def skip_sshd(self, server_name: str) -> bool:
        """True when this server must boot without sshd (consumes one count)."""
        with self._lock:
            doc = self._doc
            if doc.no_sshd != 0 and (doc.no_sshd_name is None
                                     or doc.no_sshd_name.search(server_name)):
                if doc.no_sshd is not None:
                    self._doc = replace(doc, no_sshd=doc.no_sshd - 1)
                return True
        return False

    def hold_while_stuck(self, released: Callable[[], bool]) -> None:
        """Block a boot hit by a `stuck` fault until a new document replaces the one that
        stuck it, or released() says so (the server is being deleted)."""
        with self._lock:
            generation = self._generation
        while not released():
            self.reload()
            with self._lock:
                if self._generation != generation:
                    return
            time.sleep(STUCK_POLL_S)


def _shown(count: int | None) -> int | str:
    return "all" if count is None else count
