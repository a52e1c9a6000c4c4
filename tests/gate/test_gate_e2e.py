"""The upgrade gate end to end, as an operator uses it: a tagged run, then runs gated on it.

The path between two native hosts (namespaces with sshd) is shaped with tc to 200 Mbit/s, so
that throughput is steady; a run tagged pre-upgrade goes to a private history store, a second
run with --vmtp-baseline tag:pre-upgrade passes, and with the path shaped to half the rate the
throughput row fails with its reason in the table, the JUnit XML and vmtp-compare."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support.netns_hosts import netns_hosts

BIN = Path(sys.executable).parent


def _shape(netns: str, rate: str, verb: str = "add") -> None:
    subprocess.run(["ip", "netns", "exec", netns, "tc", "qdisc", verb, "dev", "eth0", "root", "tbf",
                    "rate", rate, "burst", "256kb", "latency", "100ms"], check=True)


def _run(lab, tmp: Path, name: str, *args: str) -> tuple[subprocess.CompletedProcess, Path, Path]:
    out, junit = tmp / f"{name}.json", tmp / f"{name}.xml"
    cmd = ["ip", "netns", "exec", lab.controller.netns, sys.executable, "-m", "pytest",
           "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
           "-m", "native and (tcp or icmp)", "--vmtp-host", lab.hosts[0].spec, "--vmtp-host", lab.hosts[1].spec,
           "--vmtp-no-intra-host",  # the shaped path is the inter-host one; intra-host is unshaped loopback noise
           "--vmtp-time", "2", "--vmtp-icmp-pkt-sizes", "64", "--vmtp-ping-count", "5",
           "--vmtp-history", str(tmp / "history.sqlite"), f"--vmtp-json={out}", f"--junitxml={junit}", *args]
    return subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=300), out, junit


def _row(stdout: str, sid: str) -> str:
    return next(ln for ln in stdout.splitlines() if ln.startswith(f"| {sid} "))


def test_tagged_baseline_passes_then_half_the_rate_fails(tmp_path: Path):
    with netns_hosts(2) as lab:
        client = lab.hosts[1].netns  # the second host is the client: TCP data leaves its eth0
        _shape(client, "200mbit")
        base, base_json, _ = _run(lab, tmp_path, "base", "--vmtp-tag", "pre-upgrade")
        same, _, _ = _run(lab, tmp_path, "same", "--vmtp-baseline", "tag:pre-upgrade")
        _shape(client, "100mbit", "change")
        half, half_json, half_junit = _run(lab, tmp_path, "half", "--vmtp-baseline", "tag:pre-upgrade")

    assert base.returncode == 0, base.stdout[-3000:] + base.stderr[-2000:]
    assert "Gate" not in base.stdout.split("Summary of results")[1].splitlines()[7]  # no gate, no column
    assert same.returncode == 0, same.stdout[-3000:] + same.stderr[-2000:]
    assert re.search(r"\| ok: tcp 65536 tp_kbps [+-]\d+\.\d %", _row(same.stdout, "7.1")), _row(same.stdout, "7.1")
    assert "| ok: icmp 64 rtt_avg_ms" in _row(same.stdout, "7.3")

    assert half.returncode == 1, half.stdout[-3000:]
    row = _row(half.stdout, "7.1")
    assert "FAILED" in row and "REGRESSED: tcp 65536 tp_kbps -" in row, row
    assert "PASSED" in _row(half.stdout, "7.3")  # the pings did not get slower: only throughput regressed

    doc = json.loads(half_json.read_text())
    flow = next(f for f in doc["flows"] if f["scenario"] == "7.1")
    reason = re.fullmatch(r"regression: tcp 65536 tp_kbps ([\d.]+) Mbit/s -> ([\d.]+) Mbit/s "
                          r"\((-\d+\.\d) %, allowed -10 %\)", flow["reason"])
    assert reason, flow["reason"]
    assert 180 <= float(reason[1]) <= 205 and 90 <= float(reason[2]) <= 105 and -55 < float(reason[3]) < -45
    assert flow["status"] == "FAILED" and flow["gate"]["verdict"] == "regressed"
    assert flow["gate"]["baseline"].startswith("tag:pre-upgrade (run ")
    assert flow["results"] and flow["results"][0]["throughput_kbps"] < 110_000  # the figures are kept
    props = {p.get("name"): p.get("value") for tc in ET.parse(half_junit).getroot().iter("testcase")
             if "7.1" in tc.get("name", "") for p in tc.iter("property")}
    assert props["vmtp.gate"] == "regressed" and props["gate.tcp.65536.tp_kbps.verdict"] == "regressed"
    assert props["gate.tcp.65536.tp_kbps.allowed"] == "-10 %" and props["vmtp.status"] == "FAILED"

    compare = [str(BIN / "vmtp-compare"), str(base_json), str(half_json)]
    res = subprocess.run(compare, capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stdout + res.stderr
    assert reason[0].removeprefix("regression: ") in res.stdout and "failed: 7.1" in res.stdout
    stored = subprocess.run([str(BIN / "vmtp-compare"), "tag:pre-upgrade", str(base_json), "--history",
                             str(tmp_path / "history.sqlite")], capture_output=True, text=True, timeout=60)
    assert stored.returncode == 0, stored.stdout + stored.stderr
