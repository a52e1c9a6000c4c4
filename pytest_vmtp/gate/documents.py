"""Results documents for the gate: read from a JSON file or the history store, with VMTP's own
result files (one flow per client, all protocols in it, no row ids) split into rows."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_vmtp.user_error import UserError

_RUN_ID = re.compile(r"^[0-9a-f]{7}$")
_PROTO_MINOR = {"TCP": 1, "UDP": 2, "ICMP": 3, "Multicast": 4}
# VMTP's flow descriptions -> group, as its print_report reads them.
_GROUPS = (("same network", "fixed IP", "intra-node", 1), ("same network", "fixed IP", "inter-node", 2),
           ("different network", "fixed IP", "intra-node", 3), ("different network", "fixed IP", "inter-node", 4),
           ("different network", "floating IP", "intra-node", 5),
           ("different network", "floating IP", "inter-node", 6))


class DocumentError(UserError):
    """A results document that cannot be read or found; str() says which and why."""


def _group_of(desc: str) -> int | None:
    if "Native" in desc:
        return 7
    for net, addr, node, group in _GROUPS:
        if net in desc and addr in desc and node in desc:
            return group
    return None


def split_vmtp_flows(doc: dict[str, Any]) -> dict[str, Any]:
    """A VMTP 2.x document (flows without 'scenario') as one flow per summary row."""
    if all("scenario" in f for f in doc.get("flows") or []):
        return doc
    rows: dict[str, dict[str, Any]] = {}
    for flow in doc.get("flows") or []:
        if "scenario" in flow:
            rows[flow["scenario"]] = flow
            continue
        desc = str(flow.get("desc", ""))
        for item in flow.get("results") or []:
            if not isinstance(item, dict):
                continue
            proto = item.get("protocol")
            if "External-VM" in desc:
                sid = "8.2" if item.get("direction") == "reverse" else "8.1"
            else:
                group = _group_of(desc)
                if group is None or proto not in _PROTO_MINOR:
                    continue
                sid = f"{group}.{_PROTO_MINOR[proto]}"
            row = rows.setdefault(sid, {**{k: v for k, v in flow.items() if k != "results"},
                                        "scenario": sid, "status": "PASSED", "results": []})
            row["results"].append(item)
            if "error" in item:
                row["status"] = "FAILED"
    return {**doc, "flows": list(rows.values())}


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
        from pytest_vmtp.history import open_store as opener
    store = opener(history)
    try:
        return [split_vmtp_flows(d) for d in store.find(source, cloud=cloud)]
    finally:
        store.close()
