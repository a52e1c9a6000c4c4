"""Multicast rows (x.4) and the external-host rows' UDP and ICMP (8.x) on a local cloud of
this module's own (prefix vm1, 198.18.180.0/24 and 198.18.181.0/24), as a user runs them.

The local cloud's compute hosts have no default route: 7.4 needs the 224.0.0.0/4 route the row
adds (VMTP added it on every host). Its routers relay multicast between their networks (as OVN's
with mcast_relay), so the different-network rows pass too, the floating-IP ones (5.4, 6.4)
measuring the same group across the router. A cloud started with --no-multicast-relay (prefix
vmrn, 198.18.222.0/24 and 198.18.223.0/24) has routers that forward none, as Neutron's L3
agent: 3.4 sees nothing arrive and fails saying so.
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
from tests.support.own_cloud import own_cloud

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
    with own_cloud(state, PREFIX, MGMT_CIDR, EXTERNAL_CIDR) as handle:
        yield handle


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


MULTICAST_ROWS = ("1.4", "2.4", "3.4", "4.4", "5.4", "6.4", "7.4")


def test_multicast_rows_and_the_external_hosts_udp_and_icmp(cloud, tmp_path):
    """--vmtp-protocols UIM: every multicast row passes, with the group asked and jitter
    recorded, across the router too; 8.1 and 8.2 run without TCP (not selected) and record UDP
    (and 8.1 ICMP) as VMTP's external flow did."""
    (tmp_path / "fast.yaml").write_text(FAST)
    out, junit = tmp_path / "r.json", tmp_path / "j.xml"
    res = vmtp_pytest(cloud, "--vmtp-protocols", "UIM", "-m", "multicast or external",
                      "--vmtp-config", tmp_path / "fast.yaml", f"--vmtp-json={out}", f"--junitxml={junit}",
                      cwd=tmp_path)
    status = rows(res.stdout)
    assert len(status) == 30 and "Total Scenarios:   30" in res.stdout, res.stdout[-3000:]
    assert {s: status[s] for s in (*MULTICAST_ROWS, "8.1", "8.2")} == dict.fromkeys(
        (*MULTICAST_ROWS, "8.1", "8.2"), "PASSED"), res.stdout[-6000:] + res.stderr[-2000:]
    assert "Traceback" not in res.stdout

    doc = json.loads(out.read_text())
    vmtp_json.validate(doc)
    flows = {f["scenario"]: f for f in doc["flows"] if "companion" not in f}  # the rows' own flows
    # Multicast has no floating IP: 5.4 and 6.4 send to the group across the router from the
    # client's fixed IP, as 3.4 and 4.4 (only nuttcp's control connection goes to the floating IP).
    assert flows["5.4"]["ip_to"] != flows["3.4"]["ip_to"] and flows["5.4"]["ip_from"] == flows["3.4"]["ip_from"]
    for sid in MULTICAST_ROWS:
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


def test_without_the_relay_multicast_across_the_router_fails_saying_why(tmp_path):
    """A cloud whose routers forward no multicast (Neutron's L3 agent): 3.4 fails with the
    reason, one row, one cloud of its own."""
    handle = control.start(tmp_path / "lc", prefix="vmrn", mgmt_cidr="198.18.222.0/24",
                           external_cidr="198.18.223.0/24",
                           networking=control.Networking(multicast_relay=False))
    try:
        (tmp_path / "fast.yaml").write_text(FAST)
        res = vmtp_pytest(handle, "--vmtp-protocols", "M", "-k", "3.4", "--vmtp-config", tmp_path / "fast.yaml",
                          cwd=tmp_path)
    finally:
        control.stop(handle)
    assert rows(res.stdout)["3.4"] == "FAILED", res.stdout[-3000:]
    assert "a router forwards multicast only where the cloud relays it" in cell(res.stdout, "3.4")
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "vmrn-" not in left
