"""What `vmtp-history` prints: the table of stored runs, and a stored run as VMTP's summary."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tabulate import tabulate

from pytest_vmtp.catalogue import catalogue
from pytest_vmtp.history.store import StoredRun
from pytest_vmtp.report.data_column import data_for
from pytest_vmtp.report.summary import SummaryRow, render

DESCRIPTION_WIDTH = 40


def runs_table(runs: Iterable[StoredRun]) -> str:
    rows = [[r.run_id, f"{r.date:%Y-%m-%d %H:%M:%S}", r.cloud or "-", ",".join(r.tags) or "-",
             r.passed, r.failed, _short(r.description or "")] for r in runs]
    return tabulate(rows, headers=["run", "date", "cloud", "tags", "passed", "failed", "description"],
                    tablefmt="simple", disable_numparse=True)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DESCRIPTION_WIDTH else text[:DESCRIPTION_WIDTH - 3] + "..."


def documents_json(docs: list[dict[str, Any]]) -> str:
    """One document as VMTP writes it (sorted keys, indent 4); several as a JSON list."""
    value: Any = docs[0] if len(docs) == 1 else docs
    return json.dumps(value, sort_keys=True, indent=4, default=str)


_PROTOCOLS = {s.id: s.measures for s in catalogue(multicast=True)}


def _protocol(flow: dict[str, Any]) -> tuple[str, ...]:
    known = _PROTOCOLS.get(str(flow.get("scenario")))
    if known:
        return known
    protos = {str(item.get("protocol", "")).lower() for item in flow.get("results") or [] if isinstance(item, dict)}
    return (next((p for p in ("icmp", "udp", "multicast") if p in protos), "tcp"),)


def summary_rows(doc: dict[str, Any]) -> list[SummaryRow]:
    rows = []
    for flow in doc.get("flows") or []:
        if flow.get("companion"):  # a further flow of a row (JSON only), not a row of the table
            continue
        status = str(flow.get("status", "PASSED"))
        data = data_for(_protocol(flow), flow.get("results") or []) if status == "PASSED" else {}
        rows.append(SummaryRow(str(flow.get("scenario", "")), str(flow.get("name") or flow.get("desc") or ""),
                               status, data, flow.get("reason")))
    return rows


def summary(doc: dict[str, Any], tags: Iterable[str] = ()) -> str:
    """A heading naming the run, then VMTP's summary table of its rows."""
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    parts = [f"run {doc.get('run_id')}", str(doc.get("date", "")), f"cloud {meta.get('cloud') or '-'}"]
    tag_list = list(tags)
    if tag_list:
        parts.append("tags " + ",".join(tag_list))
    if doc.get("test_description"):
        parts.append(str(doc["test_description"]))
    return " | ".join(parts) + "\n" + render(summary_rows(doc))
