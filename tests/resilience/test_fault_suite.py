"""The fault suite: pytest-vmtp run as a user runs it, on a local cloud that misbehaves.

One cloud for the module (prefix vm8, 198.18.204-205.0/24); each test is one run of a few rows
(`--vmtp-time 1`) under faults, and asserts each row's outcome: the rows a fault hits FAIL with
one line naming what was seen (100 % loss, connection lost, killed, not ACTIVE, not
reachable), the others PASS, and nothing is left behind (cloud resources, processes, the run
directory). Per-row data-path faults are set by tests/resilience/faultdriver.py just before the
row measures; API faults are the cloud's faults.yaml for the whole run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import openstack
import psutil
import pytest
import yaml

from pytest_vmtp import procgroup
from pytest_vmtp.localcloud import control
from pytest_vmtp.session import PROCESS_MARK_ENV
from tests.support.own_cloud import own_cloud

PREFIX = "vm8"
MGMT_CIDR, EXTERNAL_CIDR = "198.18.204.0/24", "198.18.205.0/24"
HERE = Path(__file__).resolve().parent
# Short and impatient: each fault must show within seconds.
CONFIG = """\
duration_s: 1
tcp_runs: 1
udp_pkt_sizes: [1024]
icmp_pkt_sizes: [64]
ping_count: 10
ping_interval_s: 0.1
bandwidth: 200M
command_grace_s: 3
ssh_keepalive_s: 1
boot_timeout_s: 20
ssh_timeout_s: 10
api_retry_budget_s: 30
"""
ROW = re.compile(r"^\| (\d\.\d) +\| .+? +\| (PASSED|FAILED|SKIPPED) +\| ", re.M)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    state = tmp_path_factory.mktemp("lc")
    with own_cloud(state, PREFIX, MGMT_CIDR, EXTERNAL_CIDR) as handle:
        yield handle


def _faults_file(cloud, doc: dict[str, Any] | None) -> None:
    path = cloud.state_dir / "faults.yaml"
    path.write_text(yaml.safe_dump(doc or {}))
    time.sleep(0.6)  # read every 0.25 s


def run_vmtp(cloud, tmp_path: Path, *args: str, plan: dict[str, Any] | None = None, xdist: int = 0,
             config: str = "", start: bool = False) -> subprocess.CompletedProcess | subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "PYTEST_XDIST"))}
    env.update(VMTP_LOCALCLOUD_STATE_DIR=str(cloud.state_dir), VMTP_FAULT_PLAN=json.dumps(plan or {}),
               PYTHONPATH=str(HERE), TMPDIR=str(tmp_path), COLUMNS="400")
    cfg = tmp_path / "vmtp.yaml"
    cfg.write_text(CONFIG + config)
    cmd = [sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
           "-p", "faultdriver", "--vmtp-config", str(cfg), "--vmtp-json", str(tmp_path / "r.json"),
           "--vmtp-no-history", *(["-n", str(xdist)] if xdist else []), *args]
    if start:
        return subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
    return subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)


def rows(stdout: str) -> dict[str, str]:
    return {sid: status for sid, status in ROW.findall(stdout) if status != "SKIPPED"}


def summary_lines(out: str) -> dict[str, str]:
    """Each failed row's line in pytest's short summary (a failed set-up is an ERROR)."""
    return {m.group(1): m.group(2)
            for m in re.finditer(r"^(?:FAILED|ERROR) \S+\[(\d\.\d)-\S+\] - Failed: (.*)$", out, re.M)}


def reasons(tmp_path: Path) -> dict[str, str]:
    """Each failed row's error, from the JSON results (one line each)."""
    doc = json.loads((tmp_path / "r.json").read_text())
    return {f["scenario"]: " | ".join(r["error"] for r in f["results"] if "error" in r)
            for f in doc["flows"] if any("error" in r for r in f["results"])}


def results(tmp_path: Path, scenario: str) -> list[dict[str, Any]]:
    doc = json.loads((tmp_path / "r.json").read_text())
    return next(f["results"] for f in doc["flows"] if f["scenario"] == scenario)


def assert_nothing_left(cloud, tmp_path: Path, out: str) -> None:
    """No resource of a run, no process a run marked, no run directory; no traceback."""
    assert "Traceback" not in out, out[-4000:]
    config = openstack.config.OpenStackConfig(config_files=[str(cloud.clouds_yaml)]).get_one("local")
    conn = openstack.connection.Connection(config=config)
    try:
        left = [f"server {s.name}" for s in conn.compute.servers()]
        left += [f"{kind} {r.name}" for kind, items in (("network", conn.network.networks()),
                                                       ("router", conn.network.routers()),
                                                       ("security group", conn.network.security_groups()))
                 for r in items if (r.name or "").startswith("vmtp-")]
        left += [f"keypair {k.name}" for k in conn.compute.keypairs()]
        left += [f"floating IP {f.floating_ip_address}" for f in conn.network.ips()]
    finally:
        conn.close()
    assert left == [], left
    assert _marked(tmp_path) == []
    assert list(tmp_path.glob("vmtp-*")) == []  # the run directory (TMPDIR is tmp_path)


def _marked(tmp_path: Path, name: str | None = None) -> list[int]:
    """Processes a run of this test started here (its TMPDIR; other tests run at the same time)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        env = _env(proc)
        if env.get(PROCESS_MARK_ENV) and env.get("TMPDIR") == str(tmp_path) and name in (None, proc.info["name"]):
            found.append(proc.pid)
    return found


def _env(proc: psutil.Process) -> dict[str, str]:
    try:
        return proc.environ()
    except psutil.Error:
        return {}


def test_data_path_faults_fail_their_rows_in_one_line_and_the_others_pass(cloud, tmp_path):
    plan = {
        "1.1": {"data_path": [{"server": "-same-intra$", "rate": "50mbit"}]},
        "1.3": {"data_path": [{"server": "-server$", "loss_pct": 100}]},
        "2.1": {"data_path": [{"server": "-same-inter$", "down_s": 30, "after_s": 0.8}]},
        "2.3": {"data_path": [{"server": "-same-inter$", "delay_ms": 20}]},
        "3.1": {"data_path": [{"crash": "nuttcp", "server": "-diff-intra$", "count": 3}]},
        "3.3": {"data_path": [{"crash": "ping", "server": "-diff-intra$", "count": 3}]},
        "4.1": {},
        "4.3": {"data_path": [{"server": "-diff-inter$", "loss_pct": 20}]},
        # (while nuttcp runs: a kill that lands as a shell starts could leave its rc files' locks)
        "5.1": {"data_path": [{"kill": "sshd", "server": "-diff-intra$", "during": "nuttcp"}]},
        "6.1": {"data_path": [{"kill": "namespace", "server": "-diff-inter$", "during": "nuttcp"}]},
    }
    # 2-s tools: a kill 'during' nuttcp must land while it runs, also on a loaded machine
    res = run_vmtp(cloud, tmp_path, "--durations=0", "--vmtp-time", "2", plan=plan)
    out = res.stdout + res.stderr
    passed = ("1.1", "2.3", "4.1", "4.3")
    assert rows(out) == {r: "PASSED" if r in passed else "FAILED" for r in plan}, out[-6000:]
    why = reasons(tmp_path)
    assert why["1.3"].startswith("100 % loss: no ping reply from "), why
    assert re.search(r"connection lost while running .*: no answer \(a link down|command timed out after \d+ s",
                     why["2.1"]), why
    assert re.search(r"connection lost while running .*: (no answer|no way there|nothing listens)"
                     r"|no answer within 3 s", why["6.1"]), why
    assert re.fullmatch(r"nuttcp on root@\S+ was killed by signal 9 \(SIGKILL\) mid-run: nuttcp .*", why["3.1"]), why
    assert re.fullmatch(r"ping on root@\S+ was killed by signal 9 \(SIGKILL\) mid-run: ping .*", why["3.3"]), why
    assert re.search(r"connection lost while running .*: nothing listens on its SSH port any more"
                     r"|connection refused on port 22", why["5.1"]), why
    assert re.search(r"connection lost while running .*: (no answer|no way there|nothing listens)"
                     r"|no answer within 3 s", why["6.1"]), why
    assert results(tmp_path, "1.1")[0]["throughput_kbps"] < 50_000
    assert results(tmp_path, "2.3")[0]["results"][0]["rtt_avg_ms"] >= 40
    for failed in ("1.3", "2.1", "3.1", "3.3", "5.1", "6.1"):  # one line each in pytest's summary too
        assert re.search(rf"^FAILED \S+\[{re.escape(failed)}-\S+\] - \S.*$", out, re.M), out[-3000:]
    print("\n".join(ln for ln in out.splitlines() if ln.startswith("vmtp:") or " call " in ln or " setup " in ln))
    assert_nothing_left(cloud, tmp_path, out)


API_FAULTS = {
    "api_errors": [
        {"method": "GET", "path": r"/servers/[0-9a-f-]+$", "status": 503, "retry_after": 1, "count": 3},
        {"method": "POST", "path": r"/servers$", "status": 429, "retry_after": 1, "count": 1},
        {"method": "GET", "path": r"/v2\.0/ports$", "reset": True, "count": 2},
        {"method": "POST", "path": r"/v2\.0/networks$", "reset": True, "after_commit": True, "count": 1},
        {"method": "POST", "path": r"/v2\.0/floatingips$", "status": 503, "after_commit": True, "count": 1},
        {"method": "POST", "path": r"/os-keypairs$", "reset": True, "count": 1},
        {"path": r"/v2\.0/security-groups", "delay_s": 1.0, "count": 3},
        {"method": "DELETE", "path": r"/servers/", "status": 503, "retry_after": 1, "count": 2},
        {"method": "DELETE", "path": r"/v2\.0/networks/", "reset": True, "count": 1},
    ],
    "boot_errors": [{"name": "-same-inter$", "stuck": True}, {"name": "-diff-intra$", "port_down": True}],
}


def test_api_faults_are_retried_reconciled_or_fail_their_rows(cloud, tmp_path):
    _faults_file(cloud, API_FAULTS)
    try:
        res = run_vmtp(cloud, tmp_path, plan={r: {} for r in ("1.3", "2.3", "3.3", "4.3")},
                       config="boot_timeout_s: 10\nssh_timeout_s: 5\n")
    finally:
        _faults_file(cloud, None)
    out = res.stdout + res.stderr
    assert rows(out) == {"1.3": "PASSED", "2.3": "FAILED", "3.3": "FAILED", "4.3": "PASSED"}, out[-6000:]
    why = reasons(tmp_path) if (tmp_path / "r.json").exists() else {}
    lines = summary_lines(out)
    assert re.fullmatch(r"server vmtp-\w+-same-inter not ACTIVE after 10 s \(status BUILD\): .*",
                        lines.get("2.3", "")), out[-5000:]
    assert re.fullmatch(r"vmtp-\w+-diff-intra: \S+:22 not reachable after 5 s .*", lines.get("3.3", "")), out[-5000:]
    # Each transient failure was retried, each lost create reconciled: nothing made twice.
    assert "cloud API: GET /compute/v2.1/servers/" in out and "HTTP 503; retry 1 of 4 in 1.0 s" in out
    assert re.search(r"cloud API: creating server vmtp-\w+-\S+: HTTP 429; try 2 of 5 in 1.0 s", out)
    assert re.search(r"cloud API: creating network vmtp-\w+-net1: connection reset; try 2 of 5", out)
    assert re.search(r"creating network vmtp-\w+-net1: found what the failed try had made; not made again", out)
    assert re.search(r"creating floating IP vmtp-\w+-fip-\S+: found what the failed try had made", out)
    assert re.search(r"cloud API: importing keypair vmtp-\w+-key: connection reset; try 2 of 5", out)
    deleted = re.findall(r"^vmtp: deleted (server|network|router|floating IP|keypair) (\S+)$", out, re.M)
    assert len(deleted) == len(set(deleted)) and sum(k == "server" for k, _ in deleted) == 5, deleted
    assert sum(k == "network" for k, _ in deleted) == 2 and sum(k == "floating IP" for k, _ in deleted) == 4, deleted
    assert not why.get("1.3") and not why.get("4.3")
    assert_nothing_left(cloud, tmp_path, out)


def _kill_and_restart_when_booting(cloud, stop: threading.Event, done: list[str]) -> None:
    """Once a run's server is in BUILD: SIGKILL the API server, start it again on its state."""
    snapshot = cloud.state_dir / "state.json"
    while not stop.wait(0.05):
        try:
            servers = json.loads(snapshot.read_text())["tables"].get("servers", {})
        except (OSError, ValueError):
            continue
        if any(s.get("status") == "BUILD" and str(s.get("name", "")).startswith("vmtp-") for s in servers.values()):
            pid = json.loads((cloud.state_dir / "server.json").read_text())["pid"]
            os.kill(pid, signal.SIGKILL)
            done.append(f"killed {pid}")
            while procgroup.alive(pid):
                time.sleep(0.05)
            time.sleep(1.5)  # down longer than the run's 1-s status polls: one of them is refused
            started = time.monotonic()
            held = subprocess.run(["ss", "-tanp", f"sport = :{cloud.port}"], capture_output=True, text=True).stdout
            again = control.start(cloud.state_dir, prefix=PREFIX, mgmt_cidr=MGMT_CIDR, external_cidr=EXTERNAL_CIDR)
            done.append(f"restarted in {time.monotonic() - started:.1f} s on port {again.port} "
                        f"(was {cloud.port}: {held})")
            return


def test_the_api_server_killed_while_servers_boot_is_ridden_over(cloud, tmp_path):
    stop, done = threading.Event(), []
    killer = threading.Thread(target=_kill_and_restart_when_booting, args=(cloud, stop, done), daemon=True)
    _faults_file(cloud, {"boot_delay": 2})  # servers stay in BUILD a while (faults.yaml outlives the kill)
    killer.start()
    try:
        # The restart rebuilds the data path: on a loaded machine that can take half a minute.
        res = run_vmtp(cloud, tmp_path, plan={"1.3": {}, "2.3": {}},
                       config="boot_timeout_s: 120\napi_retry_budget_s: 120\n")
    finally:
        stop.set()
        killer.join(60)
        _faults_file(cloud, None)
    out = res.stdout + res.stderr
    assert done and done[-1].startswith("restarted"), (done, out[-3000:])
    assert rows(out) == {"1.3": "PASSED", "2.3": "PASSED"}, (done, out[-6000:])
    said = "\n".join(ln for ln in out.splitlines() if ln.startswith("vmtp:"))
    # a kept-alive connection finds the server gone (reset, closed), a new one is refused
    assert re.search(r"cloud API: GET \S+: connection (refused|reset|closed); retry \d of 4", out), (done, said)
    assert_nothing_left(cloud, tmp_path, out)


def test_a_worker_killed_mid_run_is_cleaned_up_by_the_controller(cloud, tmp_path):
    """pytest -n 2; the worker measuring 8.1 (its nuttcp client runs here, marked as the run's)
    is killed with SIGKILL: xdist fails that row, the controller stops what the worker left
    running here and deletes the cloud resources; the other row passes."""
    proc = run_vmtp(cloud, tmp_path, "--vmtp-time", "30", plan={"1.3": {}, "8.1": {}}, xdist=2, start=True)
    assert isinstance(proc, subprocess.Popen)
    try:
        client = _wait_for_marked_nuttcp(tmp_path, timeout=120)
        worker = _worker_of(client)
        os.kill(worker, signal.SIGKILL)
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert re.search(r"worker '?gw\d'? crashed while running .*8\.1", out), out[-4000:]
    said = "\n".join(ln for ln in out.splitlines() if "vmtp:" in ln or "gw" in ln)
    # The controller stops what is left; a tool server's own watchdog may have beaten it to it.
    assert re.search(r"vmtp: worker gw\d died without its teardown: (stopped the \d+ process\(es\) it had "
                     "left here|it left no process here)", out), said
    assert rows(out).get("1.3") == "PASSED", out[-4000:]
    assert not psutil.pid_exists(client) or psutil.Process(client).status() == psutil.STATUS_ZOMBIE
    assert_nothing_left(cloud, tmp_path, out)


def _wait_for_marked_nuttcp(tmp_path: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _marked(tmp_path, "nuttcp")
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError("no nuttcp client of the run's started here")


def _worker_of(pid: int) -> int:
    """The xdist worker that started pid: its nearest python ancestor (a worker sets its
    PYTEST_XDIST_WORKER after it started, so only its children show it in /proc)."""
    proc = psutil.Process(pid).parent()
    while proc is not None:
        if "python" in proc.name():
            return proc.pid
        proc = proc.parent()
    raise AssertionError(f"no python process above {pid}")
