"""Controller-side collection of scenario outcomes, and the end-of-run reports.

Registered only on the controller (not on xdist workers): workers' reports arrive here with
their `vmtp` attribute (scenario id + flow JSON) serialised by xdist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_vmtp.catalogue import Protocol, Scenario, catalogue, unselected_reason
from pytest_vmtp.gate.figures import measured
from pytest_vmtp.report import vmtp_json
from pytest_vmtp.report.data_column import data_for
from pytest_vmtp.report.metrics import status_of
from pytest_vmtp.report.summary import SummaryRow, render

if TYPE_CHECKING:
    from pytest_vmtp.config import HistorySettings
    from pytest_vmtp.history.mongo import MongoTarget

NOT_SELECTED = "not selected in this run"


def gate_cell(gate: dict[str, Any] | None, gated: bool) -> str | None:
    """The Gate column's cell from the flow's gate record; None when the run has no gate."""
    if not gated:
        return None
    if not gate:
        return ""
    from pytest_vmtp.gate.judge import Verdict

    return Verdict.from_json(gate).cell()
RAN = ("PASSED", "FAILED")


def _first_line(exc: BaseException) -> str:
    """An unexpected error in one line, passwords masked."""
    from pytest_vmtp.history.location import mask

    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {mask(lines[0]) if lines else ''}"


@dataclass
class Outcome:
    status: str = "SKIPPED"
    reason: str | None = None
    flow: dict[str, Any] | None = None
    companions: list[dict[str, Any]] = field(default_factory=list)  # further flows of the row (JSON only)


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
    protocols: tuple[Protocol, ...]
    args: dict[str, Any]
    description: str | None = None
    json_path: Path | None = None
    history: HistorySettings | None = None  # None: the run is not stored
    mongod: MongoTarget | None = None
    cloud_name: str | None = None  # the history's cloud when the metadata names none (native rows)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # where the run was stored, or why not
    gated: bool = False  # the run has a baseline or SLAs: the table gets a Gate column

    # -- hooks --------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        info = getattr(report, "vmtp", None)
        if not info:
            return
        out = self.outcomes.setdefault(info["scenario"], Outcome())
        if info.get("flow"):
            out.flow = info["flow"]
        if info.get("companions"):
            out.companions = list(info["companions"])
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
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.outcomes:
            return
        terminalreporter.write_sep("=", "VMTP summary")
        terminalreporter.write_line(render(self.summary_rows()))
        if self.json_path:
            terminalreporter.write_line(f"vmtp: results written to {self.json_path}")
        for note in [*self.warning_notes(), *self.notes]:
            terminalreporter.write_line(note, yellow=" WARNING " in note, red=" ERROR " in note)

    def pytest_sessionfinish(self, exitstatus: int | pytest.ExitCode) -> None:
        """Write the JSON file, then store the document (history, MongoDB) when rows ran. A store
        that fails is one line in the terminal summary, never a failed run."""
        if not self.outcomes:
            return
        doc = self.document()
        if self.json_path:
            vmtp_json.write(doc, self.json_path)
        if not any(out.status in RAN for out in self.outcomes.values()):
            return  # every row skipped: nothing was measured
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            if self.history is not None:
                self.notes.append("vmtp: the run was interrupted: not stored in the history")
            return
        if self.history is not None:
            self.notes.append(self._store_history(doc, self.history))
        if self.mongod is not None:
            self.notes.append(self._store_mongo(doc, self.mongod))

    def _store_history(self, doc: dict[str, Any], settings: HistorySettings) -> str:
        from pytest_vmtp.history.errors import HistoryError

        try:
            from pytest_vmtp.history.store import open_store

            with open_store(settings.location, connect_timeout_s=settings.connect_timeout_s) as store:
                store.add(doc, settings.tags, cloud=self.cloud_name)
                tags = f" (tags: {', '.join(settings.tags)})" if settings.tags else ""
                return f"vmtp: run {self.run_id} stored in the history {store.shown}{tags}"
        except HistoryError as exc:
            return f"vmtp: WARNING the run is not in the history: {exc}"
        except Exception as exc:  # noqa: BLE001 - a store must never fail the run
            return f"vmtp: WARNING the run is not in the history: {_first_line(exc)}"

    def _store_mongo(self, doc: dict[str, Any], target: MongoTarget) -> str:
        from pytest_vmtp.history.errors import HistoryError

        try:
            from pytest_vmtp.history.mongo import insert_document

            insert_document(doc, target)
            return f"vmtp: run {self.run_id} inserted into MongoDB {target.shown} {target.database}.{target.collection}"
        except HistoryError as exc:
            return f"vmtp: ERROR the run is not in MongoDB: {exc}"
        except Exception as exc:  # noqa: BLE001 - a store must never fail the run
            return f"vmtp: ERROR the run is not in MongoDB: {_first_line(exc)}"

    # -- views --------------------------------------------------------------------------
    def warning_notes(self) -> list[str]:
        """The rows' warnings (a gmond that could not be read), each once, with its rows."""
        rows: dict[str, list[str]] = {}
        for sc, out in self._rows():
            for line in (out.flow or {}).get("warnings") or []:
                rows.setdefault(str(line), []).append(sc.id)
        return [f"vmtp: WARNING {line} (row{'s' if len(ids) > 1 else ''} {', '.join(ids)})"
                for line, ids in rows.items()]

    def _rows(self) -> list[tuple[Scenario, Outcome]]:
        rows = []
        for sc in catalogue(self.multicast):
            out = self.outcomes.get(sc.id) or Outcome("SKIPPED", unselected_reason(sc, self.protocols) or NOT_SELECTED)
            rows.append((sc, out))
        return rows

    def summary_rows(self) -> list[SummaryRow]:
        """The table's rows. A row the gate failed still shows its figures: they were measured."""
        rows = []
        for sc, out in self._rows():
            gate = (out.flow or {}).get("gate")
            shown = out.flow is not None and measured({**out.flow, "status": out.status})
            data = data_for(sc.measures, out.flow["results"], out.flow.get("scale")) if out.flow and shown else {}
            rows.append(SummaryRow(sc.id, sc.name, out.status, data, out.reason, gate_cell(gate, self.gated)))
        return rows

    def flows(self) -> list[dict[str, Any]]:
        """One flow per row, in the table's order, each followed by its companions (VMTP's
        "Native intra-host" beside the inter-host flow of 7.x): more flows, never more rows."""
        flows = []
        for sc, out in self._rows():
            flow = dict(out.flow or {"desc": sc.name, "results": []})
            flow.update(scenario=sc.id, name=sc.name, status=out.status, reason=out.reason)
            flows.append(flow)
            flows.extend({**c, "scenario": sc.id, "name": sc.name} for c in out.companions)
        return flows

    def document(self) -> dict[str, Any]:
        return vmtp_json.build_document(
            self.flows(), self.run_id, self.args, self.description, self.metadata
        )
