"""pytest-html hooks of a run: the VMTP section at the top of the report, and the run's cloud
metadata in its Environment section.

Registered next to the result collector, in the controller only (session.start), and read from
it when pytest-html writes the report at the end of the session, after the collector wrote the
JSON file: the same document, the same summary rows. Nothing here runs without --html.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_vmtp.report.collector import ResultCollector

def _escaped(value: Any) -> Any:
    """pytest-html puts Environment values into the page as HTML: '<MASKED>' must stay text."""
    if isinstance(value, dict):
        return {html.escape(str(k)): _escaped(v) for k, v in value.items()}
    return html.escape(str(value))


@dataclass(eq=False)  # a pytest plugin object: pluggy hashes it
class HtmlReport:
    collector: ResultCollector
    notes: list[str] = field(default_factory=list)  # why a baseline is not charted

    def baseline_documents(self, flows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The runs the gate judged this one against (flows' gate.baseline), read back; one that
        cannot be read is a note in the section, never a failed report."""
        from pytest_vmtp.report import baseline_runs
        from pytest_vmtp.user_error import UserError

        history = self.collector.history.location if self.collector.history else None
        docs: list[dict[str, Any]] = []
        for label in baseline_runs.labels(flows):
            try:
                docs.extend(baseline_runs.load(label, history))
            except UserError as exc:
                self.notes.append(f"vmtp: baseline {label} is not charted: {exc}")
        return docs

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        if not self.collector.outcomes:
            return
        from pytest_vmtp.report import html_section, run_info
        from pytest_vmtp.report.chart_data import Run, run_label

        doc = self.collector.document()
        cloud = self.collector.cloud_name  # shown when the metadata names none (native rows), as the history does
        runs = [Run(f"this run {run_label(doc)}", doc)]
        runs += [Run(f"baseline {run_label(b)}", b) for b in self.baseline_documents(doc["flows"])]
        prefix.append(html_section.section(self.collector.summary_rows(), doc["flows"], runs,
                                           [*self.collector.warning_notes(), *self.collector.notes, *self.notes],
                                           cloud))
        self._environment(session.config, run_info.environment(doc, cloud))

    @staticmethod
    def _environment(config: pytest.Config, entries: dict[str, Any]) -> None:
        """Into pytest-metadata's table, which pytest-html renders when it writes the report."""
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:  # pytest-metadata is pytest-html's own dependency
            return
        table = config.stash.get(metadata_key, None)
        if table is not None:
            table.update({k: _escaped(v) for k, v in entries.items()})
