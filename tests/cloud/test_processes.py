"""Several processes, one run: xdist-style sharing, and cleanup after a crashed run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
