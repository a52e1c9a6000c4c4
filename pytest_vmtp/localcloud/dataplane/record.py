"""A JSON record of every kernel object and process a dataplane made, for crash clean-up.

Each entry is written *before* the object is made, so a dataplane killed at any point
leaves enough behind for clean() to find everything; entries go once the object is gone.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal


@dataclass
class Contents:
    prefix: str
    namespaces: list[str] = field(default_factory=list)
    root_links: list[str] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)
    root_rules: list[list[str]] = field(default_factory=list)  # iptables args after -A/-D


Kind = Literal["namespaces", "root_links", "pids", "root_rules"]
Entry = str | int | list[str]  # a name, a pid, iptables arguments


class Record:
    """The state file `<state_dir>/<prefix>-dataplane.json`, rewritten atomically."""

    def __init__(self, path: Path, prefix: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.data = load(path) or Contents(prefix)

    def add(self, kind: Kind, value: Entry) -> None:
        with self._lock:
            items = getattr(self.data, kind)
            if value not in items:
                items.append(value)
                self._write()

    def discard(self, kind: Kind, value: Entry) -> None:
        with self._lock:
            items = getattr(self.data, kind)
            if value in items:
                items.remove(value)
                self._write()

    def save(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self.data), indent=1))
        os.replace(tmp, self.path)


def record_path(state_dir: Path, prefix: str) -> Path:
    return Path(state_dir) / f"{prefix}-dataplane.json"


def load(path: Path) -> Contents | None:
    try:
        raw = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return Contents(**raw)
