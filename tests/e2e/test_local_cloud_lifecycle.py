"""The plugin's own handling of the local cloud: start it when none runs, stop it at the end
(also on SIGTERM, as Jenkins sends when a job is aborted), and skip inter-node rows on a
cloud with one compute host."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from pytest_vmtp.localcloud import control
from tests.e2e.test_cloud_scenarios import FAST, status_rows, vmtp_pytest

DEFAULT_MGMT = "198.51.100.0/24"


def _namespaces(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [ln.split()[0] for ln in out.splitlines() if ln.startswith(f"{prefix}-")]


@pytest.fixture
def fresh_state(tmp_path, monkeypatch):
    """Where the plugin will start its own local cloud (default prefix and ranges)."""
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    if DEFAULT_MGMT in routes:
        pytest.skip("a local cloud with the default ranges runs on this machine: stop it first")
    state = tmp_path / "state"
    env = dict(os.environ, VMTP_LOCALCLOUD_STATE_DIR=str(state))
    env.pop("OS_CLIENT_CONFIG_FILE", None)
    cfg = tmp_path / "fast.yaml"
    cfg.write_text(FAST)
    yield state, env, cfg
    control.stop(state)  # only does something if a test failed half-way


def test_plugin_starts_and_stops_the_local_cloud(fresh_state, tmp_path):
    state, env, cfg = fresh_state
    res = vmtp_pytest(env, "-m", "cloud and icmp and intra_node and same_network", "--vmtp-config", cfg,
                      cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:]
    assert "vmtp: starting the local cloud" in res.stdout
    assert "vmtp: stopping the local cloud this run started" in res.stdout
    assert not control.is_running(state)
    assert _namespaces("vlc") == []


def test_sigterm_mid_measurement_stops_the_local_cloud(fresh_state, tmp_path):
    state, env, cfg = fresh_state
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
         "-m", "cloud and tcp and intra_node and same_network", "--vmtp-time", "30"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not any(n.startswith("vlc-vm-") for n in _namespaces("vlc")) or not _nuttcp_in_vms():
            assert time.monotonic() < deadline, "nuttcp never ran"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "stopping the local cloud" in out, out[-3000:]
    assert not control.is_running(state)
    assert _namespaces("vlc") == []


def _nuttcp_in_vms() -> bool:
    for ns in (n for n in _namespaces("vlc") if n.startswith("vlc-vm-")):
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        if any(open(f"/proc/{p}/comm").read().strip() == "nuttcp" for p in pids if os.path.exists(f"/proc/{p}")):
            return True
    return False


def test_one_compute_host_skips_inter_node_rows_saying_why(tmp_path):
    handle = control.start(tmp_path / "one", compute_hosts=1, prefix="vlt7",
                         mgmt_cidr="198.18.70.0/24", external_cidr="198.18.71.0/24")
    try:
        cfg = tmp_path / "fast.yaml"
        cfg.write_text(FAST)
        env = dict(os.environ, VMTP_LOCALCLOUD_STATE_DIR=str(handle.state_dir))
        res = vmtp_pytest(env, "-m", "cloud and icmp", "-rs", "--vmtp-config", cfg, cwd=tmp_path)
        assert res.returncode == 0, res.stdout[-3000:]
        rows = status_rows(res.stdout)
        assert [rows[s] for s in ("1.3", "3.3", "5.3")] == ["PASSED"] * 3
        assert [rows[s] for s in ("2.3", "4.3", "6.3")] == ["SKIPPED"] * 3
        assert "compute host" in res.stdout
    finally:
        control.stop(handle)
    assert _namespaces("vlt7") == []
