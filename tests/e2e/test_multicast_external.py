"""Multicast rows (x.4) and the external-host rows' UDP and ICMP (8.x) on a local cloud of
this module's own (prefix vm1, 198.18.180.0/24 and 198.18.181.0/24), as a user runs them.

The local cloud's compute hosts have no default route: 7.4 needs the 224.0.0.0/4 route the row
adds (VMTP added it on every host). Its routers are Neutron's: they do not forward multicast,
so a different-network multicast row (3.4-6.4) sees nothing arrive and fails saying so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_vmtp.localcloud import control
from pytest_vmtp.report import vmtp_json

PREFIX = "vm1"
MGMT_CIDR, EXTERNAL_CIDR = "198.18.180.0/24", "198.18.181.0/24"
FAST = """\
duration_s: 1
tcp_runs: 1
udp_pkt_sizes: [1024]
icmp_pkt_sizes: [64]
ping_count: 3
ping_interval_s: 0.05
bandwidth: 20M
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    state = tmp_path_factory.mktemp("lc")
    handle = control.start(state, prefix=PREFIX, mgmt_cidr=MGMT_CIDR, external_cidr=EXTERNAL_CIDR)
    try:
        yield handle
    finally:
        control.stop(handle)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert f"{PREFIX}-" not in left


def vmtp_pytest(cloud, *args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **cloud.env(), "VMTP_LOCALCLOUD_STATE_DIR": str(cloud.state_dir)}
    cmd = [sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
           "-o", "junit_family=xunit1", "--vmtp-no-history", *map(str, args)]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


def rows(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^\| (\d\.\d) +\| .+? +\| (PASSED|FAILED|SKIPPED) ", stdout, re.M))


def cell(stdout: str, sid: str) -> str:
    """A row's Data cell, its wrapped lines joined."""
    lines = stdout[stdout.index(f"| {sid} "):].splitlines()
    mine = [lines[0]]
    for line in lines[1:]:
        if not line.startswith("|          |"):  # the next row, or the table's end
            break
        mine.append(line)
    return " ".join(line.split("|")[4].strip() for line in mine)


def test_multicast_rows_and_the_external_hosts_udp_and_icmp(cloud, tmp_path):
    """--vmtp-protocols UIM: the multicast rows with the group asked and jitter recorded; 8.1
    and 8.2 run without TCP (not selected) and record UDP (and 8.1 ICMP) as VMTP's external
    flow did. Multicast across the router fails, saying why."""
    (tmp_path / "fast.yaml").write_text(FAST)
    out, junit = tmp_path / "r.json", tmp_path / "j.xml"
    selected = "(multicast and (same_network or native or (fixed_ip and intra_node))) or external"
    res = vmtp_pytest(cloud, "--vmtp-protocols", "UIM", "-m", selected, "--vmtp-config", tmp_path / "fast.yaml",
                      f"--vmtp-json={out}", f"--junitxml={junit}", cwd=tmp_path)
    status = rows(res.stdout)
    assert len(status) == 30 and "Total Scenarios:   30" in res.stdout, res.stdout[-3000:]
    assert {s: status[s] for s in ("1.4", "2.4", "3.4", "7.4", "8.1", "8.2")} == {
        "1.4": "PASSED", "2.4": "PASSED", "3.4": "FAILED", "7.4": "PASSED", "8.1": "PASSED", "8.2": "PASSED",
    }, res.stdout[-6000:] + res.stderr[-2000:]
    assert "Traceback" not in res.stdout

    doc = json.loads(out.read_text())
    vmtp_json.validate(doc)
    flows = {f["scenario"]: f for f in doc["flows"]}
    for sid in ("1.4", "2.4", "7.4"):
        assert flows[sid]["multicast_address"] == "231.1.1.1"
        [item] = flows[sid]["results"]
        assert item["protocol"] == "Multicast"
        assert item["multicast_group"] == item["multicast_group_asked"] == "231.1.1.1"
        assert item["jitter"] >= 0 and item["jitter_kind"] in ("max", "max-interval"), item
        assert 15_000 < item["throughput_kbps"] <= 21_000 and item["loss_rate"] < 20, item
        assert "'jitter': " in cell(res.stdout, sid)
        if not item["tool"].startswith("nuttcp"):  # Debian 12's nuttcp 6.1.2 cannot
            assert item["note"].startswith(f"measured with {item['tool']}: nuttcp-")
            assert f"'tool': '{item['tool']}'" in cell(res.stdout, sid)
    assert "a router forwards multicast only where the cloud relays it" in cell(res.stdout, "3.4")

    up, down = flows["8.1"]["results"], flows["8.2"]["results"]
    assert [(r["protocol"], r.get("direction")) for r in up] == [("ICMP", None), ("UDP", None)]
    assert [(r["protocol"], r.get("direction")) for r in down] == [("UDP", "reverse")]
    assert all(15_000 < r["throughput_kbps"] <= 21_000 for r in (up[1], down[0]))
    assert up[0]["results"][0]["rx_packets"] == 3
    assert cell(res.stdout, "8.1").startswith("{'udp': {1024: {'tp_kbps': ")
    assert "'rtt avg/min/max/stddev msec': {'64-byte': " in cell(res.stdout, "8.1")
    assert cell(res.stdout, "8.2").startswith("{'udp': {1024: {'tp_kbps': ")

    props: dict[str, dict[str, str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        values = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "vmtp.scenario" in values:
            props[values["vmtp.scenario"]] = values
    assert props["8.1"]["udp.1024.throughput_kbps"] == str(up[1]["throughput_kbps"])
    assert props["8.1"]["icmp.64.rx_packets"] == "3"
    assert props["8.2"]["reverse.udp.1024.loss_rate"] == str(down[0]["loss_rate"])
    assert props["7.4"]["multicast.1024.jitter"] == str(flows["7.4"]["results"][0]["jitter"])
    assert props["7.4"]["multicast.1024.multicast_group"] == "231.1.1.1"


def test_tuim_lists_thirty_rows(tmp_path):
    """Every multicast row is collected with TUIM (no cloud is needed to collect)."""
    cmd = [sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
           "--vmtp-protocols", "TUIM", "--collect-only", "-q"]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    ids = re.findall(r"test_flow\[(\d\.\d)-", res.stdout)
    assert len(ids) == 30 and len(set(ids)) == 30, res.stdout[-2000:]
    assert sorted(i for i in ids if i.endswith(".4")) == [f"{g}.4" for g in range(1, 8)]
