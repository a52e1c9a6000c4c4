"""A run's document -> the store's indexed fields: the run row and its figure rows (pure).

Rows are VMTP's summary rows: a VMTP 2.x file (one flow per client, no row ids) is read as the
gate reads it (gate.documents.split_vmtp_flows), so that its figures index by row too.

Shared by HistoryStore.add and by the migrations that (re)build figure rows from the stored
documents, so that a store upgraded from an older version holds what a new one would.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from pytest_vmtp.gate.figures import document_figures
from pytest_vmtp.gate.vmtp_files import split_vmtp_flows
from pytest_vmtp.history.errors import HistoryError
from pytest_vmtp.history.schema import CLOUD_LEN, RUN_ID_LEN

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # the document's "date" (VMTP's)


def run_fields(doc: dict[str, Any], cloud: str | None = None) -> dict[str, Any]:
    """run_id, cloud, date, description and row counts of a results document. The cloud is the
    document's metadata "cloud", else the one given (the run's cloud name)."""
    if not isinstance(doc, dict):
        raise HistoryError("history: a results document is a JSON object")
    run_id = doc.get("run_id")
    if not isinstance(run_id, str) or not run_id.strip() or len(run_id) > RUN_ID_LEN:
        raise HistoryError(f"history: the document's run_id {run_id!r} is not a run id")
    flows = doc.get("flows")
    if not isinstance(flows, list):
        raise HistoryError(f"history: run {run_id}: the document has no list of flows")
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    name = meta.get("cloud") or cloud
    rows = split_vmtp_flows(doc)["flows"]
    counts = Counter(str(f.get("status", "PASSED")) for f in rows if isinstance(f, dict) and not f.get("companion"))
    return {
        "run_id": run_id.strip(),
        "cloud": str(name)[:CLOUD_LEN] if name else None,
        "date": parse_date(doc.get("date"), run_id),
        "description": doc.get("test_description"),
        "passed": counts["PASSED"],
        "failed": counts["FAILED"],
        "skipped": counts["SKIPPED"],
    }


def parse_date(text: Any, run_id: str = "?") -> datetime:
    try:
        return datetime.strptime(str(text), DATE_FORMAT)
    except ValueError:
        try:
            return datetime.fromisoformat(str(text)).replace(tzinfo=None)
        except ValueError:
            raise HistoryError(f"history: run {run_id}: date {text!r} is not {DATE_FORMAT}") from None


def figure_rows(doc: dict[str, Any], run_pk: int) -> list[dict[str, Any]]:
    """One row per figure of the document's passed rows."""
    return [
        {"run_pk": run_pk, "scenario": f.scenario, "what": f.what, "metric": f.metric,
         "value": f.value, "samples": list(f.samples), "spread": f.spread}
        for f in document_figures(split_vmtp_flows(doc))
    ]
