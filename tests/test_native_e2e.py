"""End to end, as a user runs it: pytest --vmtp-host against real sshd hosts in namespaces.

pytest itself runs inside the lab's controller namespace (a subprocess), reaches two host
namespaces over SSH and measures with real nuttcp/ping; then nothing may be left behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from pytest_vmtp.report import vmtp_json
from tests.support.netns_hosts import PREFIX, netns_hosts


def _run_pytest_in(netns: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    cmd = ["ip", "netns", "exec", netns, sys.executable, "-m", "pytest",
           "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
           *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def _tool_processes(lab) -> list[str]:
    """Processes other than the lab's own sshd listeners still running in its namespaces."""
    left = []
    listeners = {str(h.sshd.pid) for h in lab.hosts if h.sshd}
    for ns in lab.namespaces:
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except FileNotFoundError:
                continue
            if pid not in listeners:
                left.append(f"{ns}: {pid} {cmd}")
    return left


def _leftover_links(tag: str) -> list[str]:
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    return [ln for ln in (ns + links).splitlines() if f"{PREFIX}{tag}" in ln]


def test_native_inter_host_end_to_end(tmp_path: Path):
    out, junit, html = tmp_path / "r.json", tmp_path / "j.xml", tmp_path / "r.html"
    with netns_hosts(2) as lab:
        res = _run_pytest_in(lab.controller.netns, [
            "-m", "native", "-v", "--vmtp-no-intra-host",  # both flows: tests/test_native_hosts.py
            "--vmtp-host", lab.hosts[0].spec, "--vmtp-host", lab.hosts[1].spec,
            "--vmtp-time", "2", "--vmtp-udp-pkt-sizes", "1024", "--vmtp-icmp-pkt-sizes", "64,1500",
            "--vmtp-ping-count", "3",
            f"--vmtp-json={out}", f"--junitxml={junit}", f"--html={html}", "--self-contained-html",
        ], tmp_path)
        tag = lab.tag
        # The tools' servers and clients are gone as soon as the run ends (sshd is the lab's).
        assert _tool_processes(lab) == []
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    text = res.stdout
    for sid, name in (("7.1", "TCP"), ("7.2", "UDP"), ("7.3", "ICMP")):
        assert re.search(rf"^\| {sid} +\| Native Throughput, {name} +\| PASSED ", text, re.M), text[-4000:]

    doc = json.loads(out.read_text())
    vmtp_json.validate(doc)
    assert not [f for f in doc["flows"] if f.get("companion")]  # --vmtp-no-intra-host: inter-host only
    flows = {f["scenario"]: f for f in doc["flows"]}
    tcp, udp, icmp = flows["7.1"], flows["7.2"], flows["7.3"]
    assert tcp["desc"] == "Native inter-host"
    assert (tcp["ip_from"], tcp["ip_to"]) == (lab.hosts[1].ip, lab.hosts[0].ip)
    assert tcp["results"][0]["throughput_kbps"] > 0 and tcp["results"][0]["rtt_ms"] > 0
    assert all(0 <= r["loss_rate"] <= 100 and r["throughput_kbps"] > 0 for r in udp["results"])
    sizes = icmp["results"][0]["results"]
    assert [s["packet_size"] for s in sizes] == [64, 1500]
    assert all(s["rx_packets"] == 3 and s["rtt_avg_ms"] > 0 for s in sizes)
    assert flows["1.1"]["status"] == "SKIPPED"

    cases = {tc.get("name"): {p.get("name"): p.get("value") for p in tc.iter("property")}
             for tc in ET.parse(junit).getroot().iter("testcase")}
    props = next(v for k, v in cases.items() if "7.1" in k)
    assert props["vmtp.scenario"] == "7.1" and float(props["tcp.65536.throughput_kbps"]) > 0
    # Jenkins reads one status per row, the test's outcome, as the JSON and the table say.
    assert sorted(v["vmtp.status"] for k, v in cases.items() if "native" in k) == ["PASSED"] * 3
    page = html.read_text()
    assert "vmtp-metrics" in page and "Throughput (kbit/s)" in page

    assert _leftover_links(tag) == []


def test_unreachable_host_and_wrong_key_fail_in_one_line(tmp_path: Path):
    with netns_hosts(1) as lab:
        wrong_key = tmp_path / "other"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong_key)], check=True)
        res = _run_pytest_in(lab.controller.netns, [
            "-m", "native and icmp", "--vmtp-host", f"root@{lab.hosts[0].ip},key={wrong_key},"
                                                     f"known_hosts={lab.hosts[0].known_hosts}",
        ], tmp_path)
        assert res.returncode == 1
        assert "authentication failed" in res.stdout
        res = _run_pytest_in(lab.controller.netns, [
            "-m", "native and icmp", "--vmtp-host", f"root@198.18.0.99,key={lab.key_path}",
        ], tmp_path)
        assert res.returncode == 1
        assert "| 7.3      | Native Throughput, ICMP" in res.stdout and "FAILED" in res.stdout
        assert "Traceback" not in res.stdout


def _owner_gone(bg_dir: Path) -> bool:
    """A background-process directory whose process has ended (one still being made has no pid)."""
    try:
        pid = int((bg_dir / "pid").read_text())
    except (OSError, ValueError):
        return False
    return not Path(f"/proc/{pid}").exists()


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_kill_9_leaves_nothing_that_vmtp_cleanup_does_not_remove(tmp_path: Path):
    """A run killed mid-measurement: its servers on the hosts end with it (their watchdog sees
    the SSH connection gone), their files go, and vmtp-cleanup removes its run directory."""
    temp = tmp_path / "tmp"  # this run's temp dir, so that only its run directory is looked at
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    bg_before = set(Path("/tmp").glob("vmtp-bg.*"))
    with netns_hosts(2) as lab:
        cmd = ["ip", "netns", "exec", lab.controller.netns, sys.executable, "-m", "pytest",
               "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider", "-m", "native and tcp",
               "--vmtp-host", lab.hosts[0].spec, "--vmtp-host", lab.hosts[1].spec, "--vmtp-time", "60"]
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            def measuring() -> bool:
                names = subprocess.run(["ip", "netns", "pids", lab.hosts[0].netns], capture_output=True,
                                       text=True).stdout.split()
                return any(Path(f"/proc/{p}/comm").exists() and Path(f"/proc/{p}/comm").read_text().strip()
                           == "nuttcp" for p in names)

            assert _wait_for(measuring, 60), "nuttcp never ran"
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert _wait_for(lambda: _tool_processes(lab) == [], 15), _tool_processes(lab)
    # The hosts share this machine's /tmp with other runs (other tests, other worktrees): only a
    # new directory whose process is gone is this run's leftover.
    assert [d for d in set(Path("/tmp").glob("vmtp-bg.*")) - bg_before if _owner_gone(d)] == []
    [run_dir] = list(temp.glob("vmtp-*"))  # the killed run could not remove it
    res = subprocess.run([str(Path(sys.executable).parent / "vmtp-cleanup"), "--local-only", "--all-runs"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [f"removed run directory {run_dir}",
                                       "removed 1 run directory on this machine (every vmtp run)"]
    assert list(temp.iterdir()) == []
