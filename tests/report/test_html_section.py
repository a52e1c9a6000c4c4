"""The VMTP section of the pytest-html report: summary table, the gate's verdicts and the
baseline runs read back for the charts (real gate code, a real SQLite run history)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_vmtp.config import HistorySettings
from pytest_vmtp.gate import run_gate
from pytest_vmtp.history.store import open_store
from pytest_vmtp.report import baseline_runs, html_section
from pytest_vmtp.report.chart_data import Run
from pytest_vmtp.report.collector import ResultCollector
from pytest_vmtp.report.html_plugin import HtmlReport
from pytest_vmtp.report.summary import SummaryRow
from pytest_vmtp.user_error import UserError
from tests.history.docs import make_doc
from tests.report.gated import RULES, judged


@pytest.fixture
def history(tmp_path: Path) -> str:
    path = str(tmp_path / "h.sqlite")
    with open_store(path) as store:
        store.add(make_doc("aaaaaaa"), ["pre-upgrade"])
        store.add(make_doc("bbbbbbb", minutes=5), ["pre-upgrade"])
    return path


def collector(history: str | None) -> ResultCollector:
    return ResultCollector(run_id="ccccccc", multicast=False, protocols=("tcp", "udp", "icmp"), args={},
                           history=HistorySettings(history, 5.0) if history else None)


def test_baseline_runs_read_back_by_id_from_a_tag(history):
    gate = run_gate.load(RULES, "tag:pre-upgrade", history)
    now = judged(make_doc("ccccccc", minutes=60, rate=5_000_000), gate)
    assert now["flows"][0]["gate"]["baseline"] == "tag:pre-upgrade (runs bbbbbbb, aaaaaaa)"
    with open_store(history) as store:  # this run now carries the tag too: the label's ids still rule
        store.add(now, ["pre-upgrade"])
    report = HtmlReport(collector(history))
    assert [d["run_id"] for d in report.baseline_documents(now["flows"])] == ["bbbbbbb", "aaaaaaa"]
    assert report.notes == []


def test_baseline_from_a_file_and_by_run_id(history, tmp_path):
    base = tmp_path / "base.json"
    base.write_text(json.dumps(make_doc("ddddddd")))
    assert [d["run_id"] for d in baseline_runs.load(str(base))] == ["ddddddd"]
    assert [d["run_id"] for d in baseline_runs.load("aaaaaaa", history)] == ["aaaaaaa"]


def test_a_baseline_that_is_gone_is_a_note_not_a_failure(history):
    flows = [{"scenario": "2.1", "gate": {"verdict": "ok", "baseline": "tag:x (run 0123456)", "checks": []}}]
    report = HtmlReport(collector(history))
    assert report.baseline_documents(flows) == []
    assert len(report.notes) == 1 and report.notes[0].startswith("vmtp: baseline tag:x (run 0123456) is not charted: ")
    with pytest.raises(UserError):
        baseline_runs.load("/no/such/file.json")


def test_section_shows_the_gate_column_and_the_failing_checks():
    gate = run_gate.RunGate(RULES, run_gate.Baseline.from_documents(
        "aaaaaaa", [make_doc("aaaaaaa")]))
    now = judged(make_doc("ccccccc", minutes=60, rate=5_000_000), gate)
    verdicts = {f["scenario"]: f["gate"]["verdict"] for f in now["flows"] if f.get("gate")}
    assert verdicts == {"2.1": "regressed", "2.3": "ok"}
    rows = [SummaryRow("2.1", "Same Network, Fixed IP, Inter-node, TCP", "FAILED", {}, "regression: ...",
                     gate="REGRESSED: tcp 65536 tp_kbps -44.4 % (allowed -10 %)"),
            SummaryRow("2.3", "Same Network, Fixed IP, Inter-node, ICMP", "PASSED", {"rtt_avg_ms": "0.2"}, gate="ok")]
    html = html_section.section(rows, now["flows"], [Run("now", now), Run("baseline", make_doc("aaaaaaa"))])
    assert "<th>Gate</th>" in html
    assert '<td class="vmtp-failed">REGRESSED: tcp 65536 tp_kbps -44.4 % (allowed -10 %)</td>' in html
    assert ('<div class="vmtp-failed">tcp 65536 tp_kbps 9 Gbit/s -&gt; 5 Gbit/s (-44.4 %, allowed -10 %)</div>'
            in html)
    assert html.count('class="vmtp-chart"') == 2 and 'data-bars="2"' in html


def test_section_without_gate_has_no_gate_column_nor_verdicts():
    rows = [SummaryRow("1.1", "Same Network, Fixed IP, Intra-node, TCP", "SKIPPED", {}, "not selected")]
    html = html_section.section(rows, [], [Run("now", make_doc("aaaaaaa"))])
    assert "<th>Gate</th>" not in html and "vmtp-verdicts" not in html
    assert "{} (not selected)" in html and "1 rows: 0 passed, 0 failed, 1 skipped" in html
