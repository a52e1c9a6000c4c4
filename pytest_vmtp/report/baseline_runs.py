"""The baseline runs a run was judged against, read back for the report's charts.

The gate writes its baseline's label into every judged flow (flow["gate"]["baseline"]): the
source as given (a results file, `last`, a run id, `tag:NAME`) and, when that is not simply a
run id, the runs it named, e.g. `tag:pre-upgrade (runs 1a2b3c4, 5d6e7f8)`. Runs are read back
by id, so that a selector that now names other runs (a tag this run also carries, `last`, which
is now this run) still gives the baseline that was used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_vmtp.gate import documents

_LABEL = re.compile(r"^(?P<source>.+?) \(runs? (?P<ids>[0-9a-f]{7}(?:, [0-9a-f]{7})*)\)$")


def labels(flows: Iterable[dict[str, Any]]) -> list[str]:
    """The distinct baseline labels of the judged flows, in row order."""
    out: list[str] = []
    for flow in flows:
        gate = flow.get("gate")
        label = gate.get("baseline") if isinstance(gate, dict) else None
        if label and label not in out:
            out.append(str(label))
    return out


def load(label: str, history: str | None = None) -> list[dict[str, Any]]:
    """The documents of a baseline label; documents.DocumentError or a HistoryError (both
    UserErrors, one line) when they cannot be read."""
    match = _LABEL.match(label)
    source = match.group("source") if match else label
    if Path(source).is_file():
        return documents.load(source)
    if match:
        return [doc for run_id in match.group("ids").split(", ") for doc in documents.load(run_id, history)]
    return documents.load(source, history)
