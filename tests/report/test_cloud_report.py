"""The pytest-html report of real cloud rows: the run's cloud metadata (cloud, region, API
versions, encapsulation, image) in its Environment section, the VMTP section at the top, also
when the rows ran on pytest-xdist workers. A local cloud of its own (prefix vhc and ranges
198.18.140.0/24, 198.18.141.0/24), rows 1.1 and 1.3 only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_vmtp.localcloud import control
from tests.report.browser import load
from tests.report.conftest import FAST
from tests.support.own_cloud import own_cloud

PREFIX = "vhc"
MGMT_CIDR, EXTERNAL_CIDR = "198.18.140.0/24", "198.18.141.0/24"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.CloudHandle]:
    with own_cloud(tmp_path_factory.mktemp("lc"), PREFIX, MGMT_CIDR, EXTERNAL_CIDR) as handle:
        yield handle


def test_report_environment_carries_the_cloud_metadata(cloud, browser, tmp_path: Path):
    fast, out, report = tmp_path / "fast.yaml", tmp_path / "r.json", tmp_path / "report.html"
    fast.write_text(FAST)
    env = {**os.environ, **cloud.env(), "VMTP_LOCALCLOUD_STATE_DIR": str(cloud.state_dir)}
    res = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p",
                          "no:cacheprovider", "-n", "2", "-k", "1.1 or 1.3", "--vmtp-config", str(fast),
                          f"--vmtp-json={out}", f"--html={report}", "--self-contained-html"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    doc = json.loads(out.read_text())

    page = load(browser, report)
    page.page.screenshot(path=str(tmp_path / "cloud-report.png"), full_page=True)
    assert page.requests == [report.resolve().as_uri()]
    assert page.console_errors == [] and page.page_errors == []
    rows = page.page.locator("#environment tr")
    env_rows = {rows.nth(i).locator("td").nth(0).inner_text().strip(): rows.nth(i).locator("td").nth(1)
                for i in range(rows.count())}
    assert env_rows["VMTP run id"].inner_text() == doc["run_id"]
    assert env_rows["VMTP cloud"].inner_text() == "local" and env_rows["VMTP region"].inner_text() == "RegionOne"
    assert env_rows["VMTP encapsulation"].inner_text() == "vxlan"
    apis = env_rows["VMTP API versions"].locator("li").all_inner_texts()
    compute = doc["metadata"]["api_versions"]["compute"]
    assert (f"compute: {compute['version']} (microversions {compute['min_microversion']}-"
            f"{compute['max_microversion']})") in apis
    assert any(a.startswith("network: 2") for a in apis) and any(a.startswith("image: 2") for a in apis)
    assert page.page.locator('table.vmtp-summary tr[data-scenario="1.3"] td').nth(2).inner_text() == "PASSED"
    assert page.count("#vmtp-report-chart-tcp .barlayer .point") == 1
    assert page.count("#vmtp-report-chart-icmp .barlayer .point") == 2
