"""Fixtures of the report tests: real result documents and HTML reports from pytest runs of
the native rows (7.x) on the namespace lab, and one headless Chromium for the whole session."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.netns_hosts import netns_hosts

# Short measurements: these tests check the reports, not the numbers. Two TCP runs give the
# TCP bars their min-max whiskers; a fixed UDP rate gives loss without the rate search.
FAST = """\
duration_s: 1
tcp_runs: 2
udp_pkt_sizes: [128, 1024]
icmp_pkt_sizes: [64, 1500]
ping_count: 3
ping_interval_s: 0.05
bandwidth: 100M
"""
UDP_SIZES, ICMP_SIZES = 2, 2
# The 'after' run is judged against 'before' by the real gate; thresholds wide enough that two
# runs on a shared 2-core machine pass each other (the report is under test, not the noise rule).
WIDE_GATE = """\
gate:
  thresholds: {tp_kbps: -60%, rtt_avg_ms: +400%, loss_rate: +30}
"""


@dataclass
class NativeRuns:
    """Two runs of rows 7.1-7.3 on one lab: 'before' (tagged), then 'after', judged by the gate
    against tag:before, with an HTML report."""

    before: Path  # results JSON
    after: Path
    report: Path  # pytest-html, self-contained, of the 'after' run
    history: Path  # SQLite run history holding both
    outputs: dict[str, subprocess.CompletedProcess]


def run_native(lab: Any, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """pytest-vmtp as a user runs it, inside the lab's controller namespace."""
    cmd = ["ip", "netns", "exec", lab.controller.netns, sys.executable, "-m", "pytest",
           "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider", "-m", "native",
           "--vmtp-host", lab.hosts[0].spec, "--vmtp-host", lab.hosts[1].spec,
           "--vmtp-no-intra-host",  # inter-host rows only, as these reports were drawn (both: test_native_hosts.py)
           *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def native_runs(tmp_path_factory: pytest.TempPathFactory) -> NativeRuns:
    tmp = tmp_path_factory.mktemp("native-runs")
    fast, gated = tmp / "fast.yaml", tmp / "gated.yaml"
    fast.write_text(FAST)
    gated.write_text(FAST + WIDE_GATE)
    runs = NativeRuns(tmp / "before.json", tmp / "after.json", tmp / "report.html", tmp / "history.sqlite", {})
    history = ["--vmtp-history", str(runs.history)]
    with netns_hosts(2) as lab:
        runs.outputs["before"] = run_native(
            lab, tmp, "--vmtp-config", str(fast), *history, f"--vmtp-json={runs.before}",
            "--vmtp-tag", "before", "--vmtp-description", "before the upgrade")
        runs.outputs["after"] = run_native(
            lab, tmp, "--vmtp-config", str(gated), *history, f"--vmtp-json={runs.after}",
            "--vmtp-baseline", "tag:before", "--vmtp-description", "after the upgrade",
            f"--html={runs.report}", "--self-contained-html")
    for name, res in runs.outputs.items():
        assert res.returncode == 0, f"{name}: " + res.stdout[-3000:] + res.stderr[-2000:]
    return runs
