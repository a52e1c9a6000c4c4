"""Results documents for the gate: read from a JSON file or the history store, with VMTP's own
result files split into rows (vmtp_files)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_vmtp.gate.vmtp_files import split_vmtp_flows
from pytest_vmtp.user_error import UserError

_RUN_ID = re.compile(r"^[0-9a-f]{7}$")
class DocumentError(UserError):
    """A results document that cannot be read or found; str() says which and why."""


def read_file(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise DocumentError(f"{path}: no such results file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{path}: cannot read it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path}: not a results JSON file (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("flows"), list):
        raise DocumentError(f"{path}: not a VMTP results file (no 'flows' list)")
    return split_vmtp_flows(doc)


def is_history_selector(source: str) -> bool:
    return source == "last" or source.startswith("tag:") or bool(_RUN_ID.match(source))


def load(source: str, history: str | None = None, cloud: str | None = None,
         opener: Callable[[str | None], Any] | None = None) -> list[dict[str, Any]]:
    """The documents SOURCE names: a JSON file; or, from the history store, `last`, a run id or
    `tag:NAME` (every run with that tag, newest first). A file that exists wins over a selector."""
    path = Path(source)
    if path.exists() or not is_history_selector(source):
        return [read_file(path)]
    if opener is None:
        from pytest_vmtp.history import open_store

        opener = open_store
    store = opener(history)
    try:
        return [split_vmtp_flows(d) for d in store.find(source, cloud=cloud)]
    finally:
        store.close()
