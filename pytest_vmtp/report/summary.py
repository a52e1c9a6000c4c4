"""VMTP's "Summary of results" block and table, as text (tabulate grid)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import tabulate as _tabulate
from tabulate import DataRow, Line, TableFormat, tabulate

DATA_WIDTH = 80  # VMTP wraps the Data column at 80 characters

# VMTP's table (prettytable): rules above, under the header and at the bottom only.
_RULE = Line("+", "-", "+", "+")
_ROW = DataRow("|", "|", "|")
VMTP_FORMAT = TableFormat(
    lineabove=_RULE, linebelowheader=_RULE, linebetweenrows=None, linebelow=_RULE,
    headerrow=_ROW, datarow=_ROW, padding=1, with_header_hide=None,
)


@dataclass
class SummaryRow:
    scenario: str
    name: str
    status: str  # PASSED | FAILED | SKIPPED
    data: dict
    reason: str | None = None
    gate: str | None = None  # the gate's cell (verdict and change); None: the run has no gate


def _pct(n: int, total: int) -> str:
    return f"{100.0 * n / total:.2f}%" if total else "0.00%"


def render(rows: list[SummaryRow]) -> str:
    """Totals count every row (VMTP's own counts drop row 1.1: we do not)."""
    total = len(rows)
    passed = sum(r.status == "PASSED" for r in rows)
    failed = sum(r.status == "FAILED" for r in rows)
    skipped = sum(r.status == "SKIPPED" for r in rows)
    run = passed + failed
    head = [
        "Summary of results",
        "==================",
        f"Total Scenarios:   {total}",
        f"Passed Scenarios:  {passed} [{_pct(passed, run)}]",
        f"Failed Scenarios:  {failed} [{_pct(failed, run)}]",
        f"Skipped Scenarios: {skipped}",
    ]
    saved, _tabulate.MIN_PADDING = _tabulate.MIN_PADDING, 0  # no extra header padding
    try:
        table = _table(rows)
    finally:
        _tabulate.MIN_PADDING = saved
    return "\n".join(head) + "\n" + table


GATE_WIDTH = 48


def _table(rows: list[SummaryRow]) -> str:
    gated = any(r.gate is not None for r in rows)
    headers = ["Scenario", "Scenario Name", "Functional Status", "Data"] + (["Gate"] if gated else [])
    return tabulate(
        [line for r in rows for line in _lines(r, gated)],
        headers=headers,
        tablefmt=VMTP_FORMAT,
        disable_numparse=True,
        colalign=("left",) * len(headers),
    )


def _lines(row: SummaryRow, gated: bool = False) -> list[list[str]]:
    """One table line per wrapped piece of the Data (and Gate) text; continuations leave the
    other cells blank."""
    data = textwrap.wrap(_data_text(row), DATA_WIDTH) or [""]
    gate = (textwrap.wrap(row.gate or "", GATE_WIDTH) or [""]) if gated else []
    height = max(len(data), len(gate))
    data += [""] * (height - len(data))
    gate += [""] * (height - len(gate))
    lines = []
    for i in range(height):
        head = [row.scenario, row.name, row.status] if i == 0 else ["", "", ""]
        lines.append(head + [data[i]] + ([gate[i]] if gated else []))
    return lines


def _data_text(row: SummaryRow) -> str:
    if row.data:
        return str(row.data)
    # VMTP prints {} for skipped rows; the reason is what an operator wants to see next to it.
    return f"{{}} ({row.reason})" if row.reason and row.status != "PASSED" else "{}"
