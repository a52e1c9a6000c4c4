"""The charts and the HTML report as a browser shows them: Debian's Chromium, headless, opens
the file with no network; every bar must be drawn, nothing may be fetched and nothing may fail.
Each test keeps a screenshot in its tmp_path (e.g. /tmp/pytest-of-root/pytest-N/
test_genchart_of_two_runs_draw0/genchart.png; pytest keeps the last three runs' folders)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.report.browser import Loaded, load
from tests.report.conftest import ICMP_SIZES, UDP_SIZES, NativeRuns

GENCHART = Path(sys.executable).parent / "vmtp-genchart"
# Bars of one run of rows 7.1-7.3: TCP one, UDP throughput and loss one per size, ICMP one per size.
BARS_PER_RUN = {"tcp": 1, "udp": UDP_SIZES, "loss": UDP_SIZES, "icmp": ICMP_SIZES}


def _clean_load(page: Loaded, path: Path) -> None:
    assert page.requests == [path.resolve().as_uri()], "the page fetched more than itself"
    assert page.console_errors == [] and page.page_errors == []


def _environment(page: Loaded) -> dict[str, str]:
    """pytest-html's Environment table, as shown: name -> value text."""
    rows = page.page.locator("#environment tr")
    cells = [rows.nth(i).locator("td") for i in range(rows.count())]
    return {c.nth(0).inner_text().strip(): c.nth(1).inner_text().strip() for c in cells}


def _bars(page: Loaded, chart_id: str, runs: int = 1) -> int:
    """The bars drawn in a chart, checked to be visible, with one legend entry per run."""
    count = page.count(f"#{chart_id} .barlayer .point")
    assert page.visible_bars_and_legend(chart_id) == (count, runs if runs > 1 else 0), chart_id
    return count


def test_genchart_of_two_runs_draws_every_bar_offline(native_runs: NativeRuns, browser, tmp_path: Path):
    out = tmp_path / "chart.html"
    res = subprocess.run([str(GENCHART), str(native_runs.before), str(native_runs.after), "-o", str(out)],
                         capture_output=True, text=True, timeout=120)
    total = 2 * sum(BARS_PER_RUN.values())
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"vmtp-genchart: 2 runs, {total} bars -> {out}"

    page = load(browser, out)
    page.page.screenshot(path=str(tmp_path / "genchart.png"), full_page=True)
    _clean_load(page, out)
    for key, per_run in BARS_PER_RUN.items():
        assert _bars(page, f"vmtp-chart-{key}", runs=2) == 2 * per_run, key  # one colour per run
    assert page.count(".barlayer .point") == total
    # Throughput bars have a height; the two runs' bars have their two colours.
    tcp = page.page.locator("#vmtp-chart-tcp .barlayer .point path")
    assert all(tcp.nth(i).bounding_box()["height"] > 1 for i in range(tcp.count()))
    fills = {tcp.nth(i).evaluate("p => getComputedStyle(p).fill") for i in range(tcp.count())}
    assert len(fills) == 2

    before, after = (json.loads(p.read_text()) for p in (native_runs.before, native_runs.after))
    runs = page.page.locator("table.vmtp-runs").inner_text()
    for doc in (before, after):
        assert doc["run_id"] in runs and doc["test_description"] in runs
    assert "nuttcp-" in runs and "pytest-vmtp" in runs
    assert page.page.locator("h1").inner_text().startswith(f"VMTP charts: {before['run_id']}")


def test_genchart_reads_history_runs(native_runs: NativeRuns, browser, tmp_path: Path):
    """tag:before and last from the run history give the same two runs as the files."""
    out = tmp_path / "chart.html"
    res = subprocess.run([str(GENCHART), "tag:before", "last", "--history", str(native_runs.history),
                          "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    page = load(browser, out)
    _clean_load(page, out)
    assert page.count(".barlayer .point") == 2 * sum(BARS_PER_RUN.values())
    ids = [json.loads(p.read_text())["run_id"] for p in (native_runs.before, native_runs.after)]
    legend = page.page.locator("#vmtp-chart-tcp .legend").text_content() or ""
    assert legend.index(ids[0]) < legend.index(ids[1])


def test_pytest_html_report_shows_vmtp_summary_gate_charts_and_environment(native_runs: NativeRuns, browser,
                                                                           tmp_path: Path):
    """The 'after' run's report: judged against tag:before in the run, so the summary has its
    Gate column, the verdicts are listed and the baseline run is charted in a second colour."""
    report = native_runs.report
    page = load(browser, report)
    page.page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    _clean_load(page, report)
    doc = json.loads(native_runs.after.read_text())

    rows = page.page.locator("table.vmtp-summary tr[data-scenario]")
    assert rows.count() == 23
    status = {rows.nth(i).get_attribute("data-scenario"): rows.nth(i).locator("td").nth(2).inner_text()
              for i in range(rows.count())}
    assert [status[s] for s in ("7.1", "7.2", "7.3")] == ["PASSED"] * 3 and status["1.1"] == "SKIPPED"
    tcp = page.page.locator('table.vmtp-summary tr[data-scenario="7.1"] td')
    assert "'tp_kbps'" in tcp.nth(3).inner_text() and tcp.nth(4).inner_text().startswith("ok: tcp 65536 tp_kbps ")
    before = json.loads(native_runs.before.read_text())
    verdicts = page.page.locator("table.vmtp-verdicts tr[data-scenario]")
    assert [verdicts.nth(i).get_attribute("data-scenario") for i in range(verdicts.count())] == ["7.1", "7.2", "7.3"]
    assert f"tag:before (run {before['run_id']})" in verdicts.nth(0).inner_text()
    assert "tcp 65536 tp_kbps" in verdicts.nth(0).inner_text()

    for key, per_run in BARS_PER_RUN.items():  # this run and its baseline
        assert _bars(page, f"vmtp-report-chart-{key}", runs=2) == 2 * per_run, key
    legend = page.page.locator("#vmtp-report-chart-tcp .legend").text_content() or ""
    assert legend.index(f"this run {doc['run_id']}") < legend.index(f"baseline {before['run_id']}")
    env = _environment(page)
    assert env["VMTP run id"] == doc["run_id"] and env["VMTP description"] == "after the upgrade"
    assert env["VMTP tools"].startswith("nuttcp-") and env["VMTP version"] == f"pytest-vmtp {doc['version']}"
    # pytest-html's own table still renders under the section (its script ran after ours).
    assert page.count("#results-table tbody.results-table-row") >= 3

