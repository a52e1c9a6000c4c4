"""Scale mode end to end on a local cloud of its own (prefix vm9, 198.18.212-213.0/24): pytest
as a user runs it, eight pairs of row 2.1 at once, and a linear progression that an SLA stops,
its chart checked in Chromium. Short runs: these check behaviour, not performance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_vmtp.localcloud import control
from tests.support.own_cloud import own_cloud

PREFIX = "vm9"
MGMT_CIDR, EXTERNAL_CIDR = "198.18.212.0/24", "198.18.213.0/24"
FAST = {"duration_s": 1, "tcp_runs": 1, "udp_pkt_sizes": [1024], "bandwidth": "200M", "ping_count": 3,
        "ping_interval_s": 0.05}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.CloudHandle]:
    state = tmp_path_factory.mktemp("lc")
    with own_cloud(state, PREFIX, MGMT_CIDR, EXTERNAL_CIDR) as handle:
        yield handle


def vmtp(cloud: control.CloudHandle, cwd: Path, settings: dict[str, Any], *args: str) -> subprocess.CompletedProcess:
    conf = cwd / "vmtp.yaml"
    conf.write_text(yaml.safe_dump({**FAST, **settings}))
    env = {**os.environ, **cloud.env(), "VMTP_LOCALCLOUD_STATE_DIR": str(cloud.state_dir)}
    cmd = [sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
           "-o", "junit_family=xunit1", "--vmtp-config", str(conf), "--vmtp-no-history", *args]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def flow_of(path: Path, scenario: str) -> dict[str, Any]:
    return next(f for f in json.loads(path.read_text())["flows"] if f["scenario"] == scenario)


def test_eight_pairs_of_row_2_1_at_once(cloud, tmp_path: Path):
    out, junit = tmp_path / "out.json", tmp_path / "junit.xml"
    res = vmtp(cloud, tmp_path, {}, "--vmtp-pairs", "8", "-k", "2.1", f"--vmtp-json={out}",
               f"--junitxml={junit}")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    row = next(line for line in res.stdout.splitlines() if line.startswith("| 2.1 "))
    assert "PASSED" in row and "{'pairs': 8, 'tp_kbps': '" in row

    flow = flow_of(out, "2.1")
    (item,) = flow["results"]  # one TCP run: the eight pairs together
    pairs = item["pair_results"]
    assert item["pairs"] == 8 and [p["pair"] for p in pairs] == list(range(1, 9))
    assert item["throughput_kbps"] == sum(p["throughput_kbps"] for p in pairs) > 0
    assert len({p["ip_from"] for p in pairs} | {p["ip_to"] for p in pairs}) == 16  # 16 VMs
    # Inter-node, spread over both hosts: pair k's server on compute1 and compute2 in turn.
    assert all(p["az_from"] != p["az_to"] for p in pairs)
    assert [p["az_to"] for p in pairs] == ["nova:compute1", "nova:compute2"] * 4
    dist = item["distribution"]
    assert dist["min_kbps"] == min(p["throughput_kbps"] for p in pairs)
    assert dist["min_kbps"] <= dist["median_kbps"] <= dist["max_kbps"] and 0 < dist["jain_index"] <= 1
    # Started together: every client at or after the shared time, within a shared machine's skew.
    assert all(p["start_offset_ms"] >= 0 for p in pairs)
    assert 0 <= item["start_skew_ms"] < 500 and flow["scale"] == {
        "pairs": 8, "progression": None, "steps": [8], "stopped": None, "start_skew_ms": item["start_skew_ms"]}
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).iter("property")}
    assert props["tcp.65536.x8.run1.pair8.throughput_kbps"] == str(pairs[7]["throughput_kbps"])


SHAPED = "20mbit"  # pair 2's server port: far under the SLA, whatever the machine's load


def test_linear_progression_stops_at_the_step_that_breaks_an_sla(cloud, tmp_path: Path, browser):
    out, report = tmp_path / "out.json", tmp_path / "report.html"
    (cloud.state_dir / "faults.yaml").write_text(yaml.safe_dump(
        {"data_path": [{"server": "-server-p2$", "rate": SHAPED}]}))
    try:
        res = vmtp(cloud, tmp_path, {"sla": [{"rows": "1.1", "check": "pair_min_kbps >= 100M"}]},
                   "--vmtp-pairs", "3", "--vmtp-progression", "linear", "-k", "1.1", f"--vmtp-json={out}",
                   f"--html={report}", "--self-contained-html")
    finally:
        (cloud.state_dir / "faults.yaml").unlink()
    assert res.returncode == 1, res.stdout[-4000:] + res.stderr[-2000:]
    flow = flow_of(out, "1.1")
    assert flow["status"] == "FAILED" and flow["scale"]["steps"] == [1, 2]  # 3 pairs never ran
    assert flow["scale"]["stopped"].startswith("at 2 pairs: SLA: tcp 65536 x2 pair_min_kbps ")
    assert flow["reason"].startswith("SLA: tcp 65536 x2 pair_min_kbps ")
    assert [i["pairs"] for i in flow["results"]] == [1, 2]
    assert flow["results"][1]["distribution"]["min_kbps"] < 30_000 < flow["results"][0]["throughput_kbps"]

    from tests.report.browser import load

    page = load(browser, report)
    page.page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert page.requests == [report.resolve().as_uri()] and page.page_errors == []
    chart = "#vmtp-report-chart-scale-tcp"
    assert page.page.locator(f"{chart}").get_attribute("class") is not None
    assert page.count(f"{chart} .scatterlayer .trace") == 2  # all pairs, and each pair
    assert page.count(f"{chart} .scatterlayer .point") == 4  # two steps each
    assert "'1 pair'" in page.page.locator('table.vmtp-summary tr[data-scenario="1.1"]').inner_text()


def test_security_group_rules_in_bulk_all_or_none(cloud):
    """Neutron's bulk create, as the plugin adds a floating IP's rules for dozens of VMs at once:
    the rules in one request; one that exists already fails the request and makes none."""
    import openstack

    from pytest_vmtp.cloud.connect import connect

    conn = connect("local", str(cloud.clouds_yaml))
    group = conn.network.create_security_group(name="vm9-bulk")
    try:
        body = {"security_group_id": group.id, "direction": "ingress", "protocol": "tcp",
                "port_range_min": 5001, "port_range_max": 5002}
        made = list(conn.network.create_security_group_rules(
            [{**body, "remote_ip_prefix": f"198.18.213.{i}/32"} for i in (20, 21, 22)]))
        assert sorted(r.remote_ip_prefix for r in made) == [f"198.18.213.{i}/32" for i in (20, 21, 22)]
        with pytest.raises(openstack.exceptions.ConflictException, match="already exists"):
            list(conn.network.create_security_group_rules(
                [{**body, "remote_ip_prefix": "198.18.213.23/32"}, {**body, "remote_ip_prefix": "198.18.213.20/32"}]))
        prefixes = {r.remote_ip_prefix for r in conn.network.security_group_rules(security_group_id=group.id)}
        assert "198.18.213.23/32" not in prefixes and "198.18.213.22/32" in prefixes
    finally:
        conn.network.delete_security_group(group)
        conn.close()
