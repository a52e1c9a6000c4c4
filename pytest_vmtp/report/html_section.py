"""The VMTP section at the top of the pytest-html report: VMTP's summary table (with the gate's
cell when the run had a gate), the gate's verdicts, and the charts of this run beside its
baseline runs. HTML text only; report/html_plugin.py hands it to pytest-html."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from pytest_vmtp.gate.judge import Check, Verdict
from pytest_vmtp.report import charts
from pytest_vmtp.report.chart_data import Run, scale_charts
from pytest_vmtp.report.summary import SummaryRow

STYLE = """
.vmtp-report { color: #333; font-size: 13px; margin-bottom: 16px; }
.vmtp-report h2 { margin: 16px 0 6px 0; }
.vmtp-report .vmtp-status-PASSED, .vmtp-report .vmtp-verdict-ok { color: #2e7d32; font-weight: bold; }
.vmtp-report .vmtp-status-FAILED, .vmtp-report .vmtp-failed { color: #c62828; font-weight: bold; }
.vmtp-report .vmtp-status-SKIPPED { color: #b26a00; }
.vmtp-report .vmtp-data { font-family: monospace; font-size: 12px; }
.vmtp-report .vmtp-note { margin: 2px 0; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def totals(rows: Sequence[SummaryRow]) -> str:
    count = {s: sum(r.status == s for r in rows) for s in ("PASSED", "FAILED", "SKIPPED")}
    return (f"{len(rows)} rows: {count['PASSED']} passed, {count['FAILED']} failed, "
            f"{count['SKIPPED']} skipped")


def summary_table(rows: Sequence[SummaryRow]) -> str:
    """VMTP's summary table; the Gate column only when a row has a gate cell."""
    gated = any(r.gate is not None for r in rows)
    head = ["Scenario", "Scenario Name", "Functional Status", "Data"] + (["Gate"] if gated else [])
    lines = []
    for r in rows:
        data = str(r.data) if r.data else "{}"
        why = f" ({r.reason})" if r.reason and r.status != "PASSED" else ""
        cells = [f"<td>{_e(r.scenario)}</td>", f"<td>{_e(r.name)}</td>",
                 f'<td class="vmtp-status-{_e(r.status)}">{_e(r.status)}</td>',
                 f'<td class="vmtp-data">{_e(data)}{_e(why)}</td>']
        if gated:
            cell = r.gate or ""
            failed = cell.split(":")[0] in ("REGRESSED", "SLA FAILED")  # Verdict.cell() of a failed verdict
            cells.append(f'<td class="{"vmtp-failed" if failed else ""}">{_e(cell)}</td>')
        lines.append(f'<tr data-scenario="{_e(r.scenario)}">{"".join(cells)}</tr>')
    header = "".join(f"<th>{h}</th>" for h in head)
    return f'<table class="vmtp-summary"><tr>{header}</tr>{"".join(lines)}</table>'


def _check_line(check: Check) -> str:
    """A check as the gate words it, with why a change past its threshold still passed."""
    text = check.line() if check.kind == "sla" or check.baseline is not None else check.short()
    return f"{text} [{check.note}]" if check.note else text


def verdicts_table(flows: Sequence[dict[str, Any]]) -> str:
    """One line per judged row: verdict, baseline, and every check (failing ones in red)."""
    lines = []
    for flow in flows:
        if not isinstance(flow.get("gate"), dict):
            continue
        row = " ".join(str(p) for p in (flow.get("scenario", ""), flow.get("companion")) if p)  # "7.1 intra-host"
        verdict = Verdict.from_json(flow["gate"], row)
        checks = "".join(f'<div class="{"" if c.passed else "vmtp-failed"}">{_e(_check_line(c))}</div>'
                         for c in verdict.checks)
        css = "vmtp-failed" if verdict.failed else f"vmtp-verdict-{verdict.status}"
        lines.append(f'<tr data-scenario="{_e(verdict.scenario)}"><td>{_e(verdict.scenario)}</td>'
                     f'<td class="{_e(css)}">{_e(verdict.status)}</td><td>{_e(verdict.baseline_label)}</td>'
                     f"<td>{checks}</td></tr>")
    if not lines:
        return ""
    return ('<table class="vmtp-verdicts"><tr><th>Scenario</th><th>Verdict</th><th>Baseline</th>'
            f'<th>Checks</th></tr>{"".join(lines)}</table>')


def section(rows: Sequence[SummaryRow], flows: Sequence[dict[str, Any]], runs: Sequence[Run],
            notes: Sequence[str] = (), cloud: str | None = None) -> str:
    """The whole section: runs[0] is this run, the others its baselines (one colour each)."""
    verdicts = verdicts_table(flows)
    parts = [
        f'<div class="vmtp-report vmtp-charts"><style>{STYLE}{charts.STYLE}</style>',
        f"<h2>VMTP summary</h2><p>{_e(totals(rows))}</p>", summary_table(rows),
        "".join(f'<p class="vmtp-note">{_e(n)}</p>' for n in notes),
    ]
    if verdicts:
        parts.append(f"<h2>Gate</h2>{verdicts}")
    parts += ["<h2>Charts</h2>", charts.plotly_script(), charts.charts_html(runs, "vmtp-report-chart")]
    scale = scale_charts(runs[0].doc) if runs else []
    if scale:  # this run's progressions: how the figures change with the pair count
        parts += ["<h2>Scale</h2>", charts.scale_divs(scale, "vmtp-report-chart")]
    parts += [charts.runs_html(runs, cloud), "</div>"]
    return "\n".join(parts)
