"""Several processes, one run: xdist-style sharing, and cleanup after a crashed run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from pytest_vmtp import rundirs

from .inventory import inventory, is_empty

HELPER = Path(__file__).with_name("build_vm.py")
BIN = Path(sys.executable).parent


def _build(run_id: str, shared: Path, roles: str, env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HELPER), run_id, str(shared), roles, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_two_processes_build_a_role_once(conn, run_id: str, cloud_env, tmp_path: Path):
    shared = tmp_path / "shared"
    procs = [_build(run_id, shared, "same_intra", cloud_env) for _ in range(2)]
    outs = [p.communicate(timeout=200) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-1500:] for o in outs]
    first, second = (json.loads(o[0]) for o in outs)
    assert first == second  # the same VMs, the same key file
    assert len(inventory(conn, run_id)["servers"]) == 2
    builders = [o[1] for o in outs if "booting" in o[1]]
    assert len(builders) == 1  # one process booted, the other read the record


def test_cli_cleans_up_after_a_crash(conn, run_id: str, cloud_env, tmp_path: Path):
    crashed = _build(run_id, tmp_path / "shared", "same_intra", cloud_env, "--crash")
    out, err = crashed.communicate(timeout=200)
    assert crashed.returncode == -9 and json.loads(out)["same_intra"]["server_id"], err[-1500:]
    before = inventory(conn, run_id)
    assert len(before["servers"]) == 2 and before["networks"]

    dry = subprocess.run([str(BIN / "vmtp-cleanup"), "--cloud", "local", "--run-id", run_id, "--dry-run"],
                         capture_output=True, text=True, env=cloud_env, timeout=120)
    assert dry.returncode == 0 and f"would delete server vmtp-{run_id}-server" in dry.stdout
    assert inventory(conn, run_id) == before

    real = subprocess.run([str(BIN / "vmtp-cleanup"), "--cloud", "local", "--run-id", run_id],
                          capture_output=True, text=True, env=cloud_env, timeout=300)
    assert real.returncode == 0, real.stderr
    assert f"deleted server vmtp-{run_id}-server" in real.stdout and "deleted " in real.stdout.splitlines()[-1]
    assert is_empty(inventory(conn, run_id)), inventory(conn, run_id)


def test_kill_9_of_a_pytest_run_then_cleanup_removes_its_run_directory(conn, localcloud: Path, cloud_env,
                                                                     tmp_path: Path):
    """A real pytest run, killed with SIGKILL once its VMs exist: its run directory stays (with
    the SSH key) until vmtp-cleanup removes it; a live run's directory is left alone."""
    temp = tmp_path / "tmp"  # the runs' temp dir, so that only these run directories are looked at
    temp.mkdir()
    env = {**cloud_env, "TMPDIR": str(temp), "VMTP_LOCALCLOUD_STATE_DIR": str(localcloud.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p",
                             "no:cacheprovider", "-m", "cloud and icmp and intra_node and same_network"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        run_id = None
        while run_id is None and time.monotonic() < deadline:
            dirs = list(temp.glob("vmtp-*"))
            rid = dirs[0].name.split("-")[1] if dirs else None
            if rid and inventory(conn, rid)["servers"]:
                run_id = rid
            time.sleep(0.5)
        assert run_id, "the run never booted a VM"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    [killed] = list(temp.glob(f"vmtp-{run_id}-*"))
    live = temp / "vmtp-abcdef0-live"  # a run still going: this test process holds its directory
    live.mkdir()
    rundirs.claim(live)
    try:
        dry = subprocess.run([str(BIN / "vmtp-cleanup"), "--cloud", "local", "--all-runs", "--dry-run"],
                             capture_output=True, text=True, env=env, timeout=120)
        assert dry.returncode == 0, dry.stderr
        assert f"would remove run directory {killed}" in dry.stdout.splitlines()
        assert f"run directory {live}: left alone: its run is still going" in dry.stdout.splitlines()
        assert killed.exists() and inventory(conn, run_id)["servers"]
        real = subprocess.run([str(BIN / "vmtp-cleanup"), "--cloud", "local", "--all-runs"],
                              capture_output=True, text=True, env=env, timeout=300)
        assert real.returncode == 0, real.stderr
        assert re.fullmatch(r"deleted [1-9]\d* resource\(s\) of every vmtp run; removed 1 run directory "
                            r"on this machine", real.stdout.splitlines()[-1]), real.stdout
        assert not killed.exists() and live.exists()
        assert is_empty(inventory(conn, run_id))
    finally:
        rundirs.release(live)
