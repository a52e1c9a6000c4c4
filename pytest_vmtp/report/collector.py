"""Controller-side collection of scenario outcomes, and the end-of-run reports.

Registered only on the controller (not on xdist workers): workers' reports arrive here with
their `vmtp` attribute (scenario id + flow JSON) serialised by xdist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_vmtp.catalogue import Scenario, catalogue, unselected_reason
from pytest_vmtp.report import vmtp_json
from pytest_vmtp.report.data_column import data_for
from pytest_vmtp.report.metrics import status_of
from pytest_vmtp.report.summary import SummaryRow, render

NOT_SELECTED = "not selected in this run"


@dataclass
class Outcome:
    status: str = "SKIPPED"
    reason: str | None = None
    flow: dict[str, Any] | None = None


def reason_of(report: pytest.TestReport) -> str | None:
    """The one line that says why a test was skipped or failed."""
    longrepr = report.longrepr
    if longrepr is None:
        return None
    if isinstance(longrepr, tuple):  # skip: (path, line, "Skipped: why")
        text = str(longrepr[2])
        return text.removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0].removeprefix("Failed: ")
    lines = [ln for ln in str(longrepr).splitlines() if ln.strip()]
    return lines[-1].strip() if lines else None


@dataclass(eq=False)  # a pytest plugin object: pluggy hashes it
class ResultCollector:
    """Maps pytest outcomes to VMTP's Functional Status and writes the reports."""

    run_id: str
    multicast: bool
    protocols: tuple[str, ...]
    args: dict[str, Any]
    description: str | None = None
    json_path: Path | None = None
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    # -- hooks --------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        info = getattr(report, "vmtp", None)
        if not info:
            return
        out = self.outcomes.setdefault(info["scenario"], Outcome())
        if info.get("flow"):
            out.flow = info["flow"]
        if info.get("metadata"):
            self.metadata.update(info["metadata"])
        if report.when == "call":
            out.status = status_of(report.outcome)
            out.reason = None if report.passed else reason_of(report)
        elif report.failed:  # error in setup or teardown
            out.status, out.reason = "FAILED", reason_of(report)
        elif report.skipped and report.when == "setup":
            out.status, out.reason = "SKIPPED", reason_of(report)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.outcomes:
            return
        terminalreporter.write_sep("=", "VMTP summary")
        terminalreporter.write_line(render(self.summary_rows()))
        if self.json_path:
            terminalreporter.write_line(f"vmtp: results written to {self.json_path}")

    def pytest_sessionfinish(self) -> None:
        if self.json_path and self.outcomes:
            vmtp_json.write(self.document(), self.json_path)

    # -- views --------------------------------------------------------------------------
    def _rows(self) -> list[tuple[Scenario, Outcome]]:
        rows = []
        for sc in catalogue(self.multicast):
            out = self.outcomes.get(sc.id) or Outcome("SKIPPED", unselected_reason(sc, self.protocols) or NOT_SELECTED)
            rows.append((sc, out))
        return rows

    def summary_rows(self) -> list[SummaryRow]:
        return [
            SummaryRow(sc.id, sc.name, out.status,
                       data_for(sc.protocol, out.flow["results"]) if out.flow and out.status == "PASSED" else {},
                       out.reason)
            for sc, out in self._rows()
        ]

    def flows(self) -> list[dict[str, Any]]:
        flows = []
        for sc, out in self._rows():
            flow = dict(out.flow or {"desc": sc.name, "results": []})
            flow.update(scenario=sc.id, name=sc.name, status=out.status, reason=out.reason)
            flows.append(flow)
        return flows

    def document(self) -> dict[str, Any]:
        return vmtp_json.build_document(
            self.flows(), self.run_id, self.args, self.description, self.metadata
        )
