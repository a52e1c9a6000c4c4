"""The upgrade gate on the local cloud, as an operator uses it (issue 9's "Done when").

One local cloud (prefix vm2, 198.18.184-185.0/24) for the whole module. Its server VM's port is
shaped by the cloud's own fault document (tbf, `data_path: [{server: ..., rate: ...}]`), so
that throughput is steady: 200 Mbit/s for the run tagged pre-upgrade and for a second run
gated on that tag, which passes; then 100 Mbit/s, "after the upgrade", for a third run, which
fails exactly its throughput row (2.1) with the reason in the terminal table, the JUnit XML,
the HTML report and the JSON, while its ping row (2.3) passes; vmtp-compare agrees. The first
two runs are stored in a SQLite history; the tagged run is imported into a real PostgreSQL
(Debian's server, started here) and the third run is gated against, and stored in, that one.
Every TCP run carries the compute hosts' CPU load from their gmonds, found through Nova; a
gmond that cannot be read is a warning, never a failed row.
"""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pytest_vmtp.localcloud import control
from pytest_vmtp.report import vmtp_json
from tests.history.pg_server import pg_server
from tests.localcloud.lc_support import connect
from tests.support.own_cloud import own_cloud

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

PREFIX = "vm2"
MGMT, EXTERNAL = "198.18.184.0/24", "198.18.185.0/24"
BIN = Path(sys.executable).parent
ROWS = "cloud and same_network and inter_node and (tcp or icmp)"  # 2.1 and 2.3
CONFIG = """\
duration_s: 1
icmp_pkt_sizes: [64]
ping_count: 5
ping_interval_s: 0.05
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.CloudHandle]:
    state = tmp_path_factory.mktemp("lc")
    with own_cloud(state, PREFIX, MGMT, EXTERNAL) as handle:
        yield handle
    assert f"{PREFIX}-dataplane" not in subprocess.run(["iptables", "-w", "-S"], capture_output=True,
                                                       text=True, check=True).stdout


def shape(cloud: control.CloudHandle, rate: str) -> None:
    """The cloud's fault document: every run's server VM port shaped to rate (tbf), both ways."""
    with connect(cloud) as conn:
        resp = requests.post(f"http://127.0.0.1:{cloud.port}/admin/faults", timeout=10,
                             headers={"X-Auth-Token": conn.session.get_token()},
                             json={"data_path": [{"server": "-server$", "rate": rate}]})
    resp.raise_for_status()


def vmtp(cloud, tmp: Path, name: str, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """pytest on the cloud's rows 2.1 and 2.3, as a user runs it; its JSON document."""
    env = {**os.environ, **cloud.env(), "VMTP_LOCALCLOUD_STATE_DIR": str(cloud.state_dir),
           "COLUMNS": "250"}  # pytest's short summary line keeps the whole reason
    out = tmp / f"{name}.json"
    cmd = [sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
           "-o", "junit_family=xunit1", "-m", ROWS, "--vmtp-config", str(tmp / "fast.yaml"),
           f"--vmtp-json={out}", f"--junitxml={tmp / name}.xml", *args]
    res = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=300)
    (tmp / f"{name}.out").write_text(res.stdout + res.stderr)
    assert out.exists(), res.stdout[-3000:] + res.stderr[-2000:]
    doc = json.loads(out.read_text())
    vmtp_json.validate(doc)
    return res, doc


def row(stdout: str, sid: str) -> str:
    return next(ln for ln in stdout.splitlines() if ln.startswith(f"| {sid} "))


def flow(doc: dict, sid: str) -> dict:
    return next(f for f in doc["flows"] if f["scenario"] == sid)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True, timeout=60)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_cloud_at_half_its_rate_fails_the_gate_on_its_throughput_rows(cloud, tmp_path: Path) -> None:
    (tmp_path / "fast.yaml").write_text(CONFIG)
    sqlite = str(tmp_path / "history.sqlite")
    with connect(cloud) as conn:
        host_ips = sorted(h.host_ip for h in conn.compute.hypervisors(details=True))
    dead_gmond = f"127.0.0.1:{closed_port()}"

    shape(cloud, "200mbit")
    base, base_doc = vmtp(cloud, tmp_path, "base", "--vmtp-tag", "pre-upgrade", "--vmtp-history", sqlite)
    same, same_doc = vmtp(cloud, tmp_path, "same", "--vmtp-baseline", "tag:pre-upgrade", "--vmtp-history", sqlite,
                          "--vmtp-gmond", dead_gmond)
    shape(cloud, "100mbit")
    with pg_server() as pg:
        pg_url = pg.url(pg.create_database())
        imported = cli("vmtp-history", "add", str(tmp_path / "base.json"), "--tag", "pre-upgrade",
                       "--history", pg_url)
        half, half_doc = vmtp(cloud, tmp_path, "half", "--vmtp-baseline", "tag:pre-upgrade", "--vmtp-history",
                              pg_url, "--html", str(tmp_path / "half.html"), "--self-contained-html",
                              "--vmtp-gmond", dead_gmond)
        in_pg = cli("vmtp-history", "list", "--history", pg_url)
        compare_pg = cli("vmtp-compare", "tag:pre-upgrade", "last", "--history", pg_url)
    in_sqlite = cli("vmtp-history", "list", "--history", sqlite)

    # Before: 2 rows measured, stored with the tag; each TCP run with both hosts' CPU from gmond.
    assert base.returncode == 0, base.stdout[-3000:] + base.stderr[-2000:]
    runs = [r for r in flow(base_doc, "2.1")["results"] if r["protocol"] == "TCP"]
    assert len(runs) == 3 and all(170_000 <= r["throughput_kbps"] <= 205_000 for r in runs), runs
    for run in runs:
        assert sorted(run["cpu_load"]) == host_ips, run  # keyed by Nova's hypervisor host_ip
        assert all(len(v) >= 1 and all(0 <= x <= os.cpu_count() for x in v) for v in run["cpu_load"].values())
        assert set(run["tool_cpu_pct"]) == {"tx", "rx"}
    assert "cpu_load" not in flow(base_doc, "2.3")["results"][0]  # pings are not sampled
    assert "warnings" not in flow(base_doc, "2.1")

    # The same cloud again, gated on the tag: it passes; the unreadable gmond is a warning only.
    assert same.returncode == 0, same.stdout[-3000:] + same.stderr[-2000:]
    assert re.search(r"\| ok: tcp 65536 tp_kbps [+-]\d+\.\d %", row(same.stdout, "2.1")), row(same.stdout, "2.1")
    assert "| ok: icmp 64 rtt_avg_ms" in row(same.stdout, "2.3")
    warning = f"host CPU: gmond {dead_gmond}: cannot read it: Connection refused"
    assert f"vmtp: WARNING {warning} (row 2.1)" in same.stdout
    assert flow(same_doc, "2.1")["warnings"] == [warning] and flow(same_doc, "2.1")["status"] == "PASSED"
    assert all(sorted(r["cpu_load"]) == host_ips for r in flow(same_doc, "2.1")["results"])  # the others still

    # Half the rate: exactly the throughput row fails, with its reason everywhere.
    assert imported.returncode == 0, imported.stderr
    assert half.returncode == 1, half.stdout[-3000:] + half.stderr[-2000:]
    tcp, icmp = flow(half_doc, "2.1"), flow(half_doc, "2.3")
    assert (tcp["status"], icmp["status"]) == ("FAILED", "PASSED")
    reason = re.fullmatch(r"regression: tcp 65536 tp_kbps ([\d.]+) Mbit/s -> ([\d.]+) Mbit/s "
                          r"\((-\d+\.\d) %, allowed -10 %\)", tcp["reason"])
    assert reason, tcp["reason"]
    assert 170 <= float(reason[1]) <= 205 and 85 <= float(reason[2]) <= 103 and -56 < float(reason[3]) < -44
    assert tcp["gate"]["verdict"] == "regressed" and tcp["gate"]["baseline"].startswith("tag:pre-upgrade (run ")
    assert "FAILED" in row(half.stdout, "2.1") and "REGRESSED: tcp 65536 tp_kbps -" in row(half.stdout, "2.1")
    assert "PASSED" in row(half.stdout, "2.3") and "| ok: icmp 64" in row(half.stdout, "2.3")
    assert f"2.1-same_network-fixed_ip-inter_node-tcp] - Failed: {tcp['reason']}" in half.stdout  # pytest's own line
    props = {tc.get("name"): {p.get("name"): p.get("value") for p in tc.iter("property")}
             for tc in ET.parse(tmp_path / "half.xml").getroot().iter("testcase")}
    tcp_props = next(p for name, p in props.items() if "2.1" in name)
    icmp_props = next(p for name, p in props.items() if "2.3" in name)
    assert tcp_props["vmtp.gate"] == "regressed" and tcp_props["gate.tcp.65536.tp_kbps.verdict"] == "regressed"
    assert tcp_props["vmtp.gate.reason"] == tcp["reason"] and tcp_props["gate.tcp.65536.tp_kbps.allowed"] == "-10 %"
    assert icmp_props["vmtp.gate"] == "ok" and icmp_props["vmtp.status"] == "PASSED"
    assert all(f"tcp.65536.run{n}.cpu_load.{ip}" in tcp_props for n in (1, 2, 3) for ip in host_ips)
    page = (tmp_path / "half.html").read_text()
    assert html.escape(tcp["reason"].removeprefix("regression: ")) in page
    assert html.escape(f"vmtp: WARNING {warning} (row 2.1)") in page  # in the VMTP section's notes

    # vmtp-compare agrees, on the files and on the stored runs; both stores hold both runs.
    compare = cli("vmtp-compare", str(tmp_path / "base.json"), str(tmp_path / "half.json"))
    assert compare.returncode == 1 and tcp["reason"].removeprefix("regression: ") in compare.stdout
    assert "2 rows judged, 1 failed: 2.1" in compare.stdout
    assert compare_pg.returncode == 1 and "1 failed: 2.1" in compare_pg.stdout, compare_pg.stdout + compare_pg.stderr
    assert cli("vmtp-compare", str(tmp_path / "base.json"), str(tmp_path / "same.json")).returncode == 0
    assert in_sqlite.returncode == 0 and in_pg.returncode == 0
    for listing, runs_in in ((in_sqlite.stdout, (base_doc, same_doc)), (in_pg.stdout, (base_doc, half_doc))):
        assert all(doc["run_id"] in listing for doc in runs_in), listing
    assert "pre-upgrade" in in_pg.stdout and "pre-upgrade" in in_sqlite.stdout
