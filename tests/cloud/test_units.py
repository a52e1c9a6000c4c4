"""The cloud/ pieces that need no cloud: names, settings, keys, shared state, waits, errors."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pytest_vmtp.cloud import CloudError, CloudSettings, cleanup, connect, naming, wait_for_port
from pytest_vmtp.cloud.keys import make_keypair
from pytest_vmtp.cloud.placement import HostChoice, Placement, parse_hypervisor
from pytest_vmtp.cloud.shared import SharedState

BIN = Path(sys.executable).parent


def test_run_id_and_names():
    rid = naming.new_run_id()
    assert naming.RUN_ID_RE.match(rid)
    assert naming.name(rid, "net1") == f"vmtp-{rid}-net1"
    assert naming.tags(rid) == ["vmtp", f"vmtp-run-{rid}"]
    assert naming.run_id_of(f"vmtp-{rid}-server") == rid
    assert naming.is_marked(f"vmtp-{rid}-server", [], rid)
    assert naming.is_marked("anything", [f"vmtp-run-{rid}"], rid)
    assert not naming.is_marked("vmtp-1234567-server", [], rid if rid != "1234567" else "7654321")
    assert naming.is_marked("vmtp-1234567-server", [], None)
    assert not naming.is_marked("vmtp-net", [], None)  # a user's network, no run id: never ours
    assert not naming.is_marked("pns-internal-net", ["other"], None)
    with pytest.raises(ValueError):
        naming.check_run_id("XYZ")


def test_settings_from_config_dict():
    s = CloudSettings.from_dict({"image": "img", "flavor": "f", "cidrs": ["10.1.0.0/24", "10.2.0.0/24"],
                                 "hypervisors": "nova:c1", "login_user": None, "tool": "nuttcp"})
    assert s.image == "img" and s.cidrs == ("10.1.0.0/24", "10.2.0.0/24") and s.hypervisors == ["nova:c1"]
    assert s.login_user is None and s.use_floating_ip_for_ssh
    assert s.tcp_ports == ((5001, 5002),) and s.udp_ports == ((5001, 5001),)  # nuttcp's; SSH apart
    assert s.ssh_sources == ("0.0.0.0/0",) and s.flow_sources == ()


def test_key_is_private_and_reused(tmp_path: Path):
    path = tmp_path / "k" / "id_ed25519"
    public = make_keypair(path, "vmtp-abcdef0-key")
    assert public.startswith("ssh-ed25519 ") and public.endswith(" vmtp-abcdef0-key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert make_keypair(path, "vmtp-abcdef0-key") == public


def test_hypervisor_spec():
    assert parse_hypervisor("az1:compute2", None) == HostChoice("az1", "compute2")
    assert parse_hypervisor("compute2", None).availability_zone() == "nova:compute2"
    assert parse_hypervisor("compute2", "zz").availability_zone() == "zz:compute2"
    p = Placement("admin", HostChoice("nova", "c1"), None, "one host")
    assert Placement.from_json(p.to_json()) == p


def test_shared_state_survives_a_failure(tmp_path: Path):
    state = SharedState(tmp_path, "abcdef0", lock_timeout=5)
    with pytest.raises(RuntimeError):
        with state.locked() as data:
            data["resources"]["router"] = {"id": "r1"}
            raise RuntimeError("boom")
    assert state.read()["resources"]["router"] == {"id": "r1"}


def test_shared_state_lock_serialises_processes(tmp_path: Path):
    """Two processes incrementing a counter under the lock never lose an update."""
    code = (
        "import sys; from pytest_vmtp.cloud.shared import SharedState\n"
        "s = SharedState(sys.argv[1], 'abcdef0', 30)\n"
        "for _ in range(25):\n"
        "    with s.locked() as d: d['timings']['n'] = d['timings'].get('n', 0) + 1\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)]) for _ in range(2)]
    assert [p.wait(60) for p in procs] == [0, 0]
    assert SharedState(tmp_path, "abcdef0", 5).read()["timings"]["n"] == 50


def test_wait_for_port_on_loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def banner() -> None:
        conn, _ = server.accept()
        conn.sendall(b"SSH-2.0-test\r\n")
        conn.close()

    t = threading.Thread(target=banner, daemon=True)
    t.start()
    assert wait_for_port("127.0.0.1", port, 5, expect=b"SSH-") < 5
    t.join(5)
    server.close()
    with pytest.raises(CloudError, match=r"127.0.0.1:\d+ not reachable after 1 s \(Connection refused\)"):
        wait_for_port("127.0.0.1", port, 1)


def _clouds_yaml(tmp_path: Path, auth_url: str) -> Path:
    path = tmp_path / "clouds.yaml"
    path.write_text(
        "clouds:\n  other:\n    auth:\n"
        f"      auth_url: {auth_url}\n      username: u\n      password: s3cret-pw\n"
        "      project_name: p\n      user_domain_name: Default\n      project_domain_name: Default\n"
    )
    return path


def test_unknown_cloud_names_the_files_and_clouds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = _clouds_yaml(tmp_path, "http://127.0.0.1:9/v3")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    with pytest.raises(CloudError) as info:
        connect("prod")
    msg = str(info.value)
    assert msg.startswith("cloud 'prod' not found in clouds.yaml (searched: ") and str(path) in msg
    assert "known clouds: other" in msg and msg.endswith("check --vmtp-cloud")


def test_unreachable_endpoint_is_one_line_without_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(_clouds_yaml(tmp_path, "http://127.0.0.1:9/v3")))
    with pytest.raises(CloudError) as info:
        connect("other")
    msg = str(info.value)
    assert msg == ("cloud 'other': cannot reach the API while authenticating at http://127.0.0.1:9/v3: "
                   "Connection refused")
    assert "s3cret" not in msg


def test_cleanup_needs_a_run_id_or_all_runs():
    with pytest.raises(ValueError):
        cleanup(None, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cleanup(None, "abcdef0", all_runs=True)  # type: ignore[arg-type]


def test_cli_usage_errors(tmp_path: Path):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(_clouds_yaml(tmp_path, "http://127.0.0.1:9/v3")))
    bad_id = subprocess.run([str(BIN / "vmtp-cleanup"), "--cloud", "other", "--run-id", "nothex!"],
                            capture_output=True, text=True, env=env)
    assert bad_id.returncode == 2 and bad_id.stderr.strip().splitlines() == [
        "vmtp-cleanup: error: --run-id 'nothex!': expected 7 hex digits, e.g. 3fa2b9c"]
    unknown = subprocess.run([str(BIN / "vmtp-cleanup"), "--cloud", "prod", "--all-runs"],
                             capture_output=True, text=True, env=env)
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1
    assert "cloud 'prod' not found in clouds.yaml" in unknown.stderr
    neither = subprocess.run([str(BIN / "vmtp-cleanup"), "--cloud", "other"], capture_output=True, text=True, env=env)
    assert neither.returncode == 2 and "one of the arguments --run-id --all-runs is required" in neither.stderr
