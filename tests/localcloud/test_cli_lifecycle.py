"""`vmtp-localcloud start|status|stop|clean`: idempotence, clear errors, nothing left behind."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pytest_vmtp.localcloud import control
from pytest_vmtp.localcloud.dataplane.cleanup import leftovers
from pytest_vmtp.localcloud.process import read_server_file
from tests.localcloud.lc_support import connect, processes_mentioning

PREFIX = "vlt4"
RANGES = ["--mgmt-cidr", "198.18.20.0/24", "--external-cidr", "198.18.21.0/24"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest_vmtp.localcloud.cli", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def state_dir(tmp_path: Path):
    directory = tmp_path / "cloud"
    yield directory
    control.clean(directory, PREFIX)  # whatever the test did, nothing stays


def assert_nothing_left(state_dir: Path) -> None:
    assert leftovers(PREFIX) == {"namespaces": [], "root_links": [], "root_rules": []}
    assert processes_mentioning(str(state_dir)) == []
    assert not (state_dir / "server.json").exists()
    assert not (state_dir / "state.json").exists()


def _start(state_dir: Path) -> subprocess.CompletedProcess:
    return cli("start", "--state-dir", str(state_dir), "--prefix", PREFIX, *RANGES)


def _build(state_dir: Path) -> None:
    """A router with gateway, a network, a server with a floating IP: NAT, sshd, veths."""
    info = read_server_file(state_dir)
    handle = control.CloudHandle(state_dir, state_dir / "clouds.yaml", "local", info["pid"],
                         info["port"], PREFIX)
    conn = connect(handle)
    ext = conn.network.find_network("public", ignore_missing=False)
    router = conn.network.create_router(name="r", external_gateway_info={"network_id": ext.id})
    net = conn.network.create_network(name="n")
    subnet = conn.network.create_subnet(network_id=net.id, cidr="10.30.0.0/24", ip_version=4)
    conn.network.add_interface_to_router(router, subnet=subnet.id)
    server = conn.compute.create_server(
        name="s", flavor_id="10", networks=[{"uuid": net.id}],
        image_id=conn.image.find_image("vmtp-local", ignore_missing=False).id)
    server = conn.compute.wait_for_server(server, interval=0.2, wait=60)
    port = next(conn.network.ports(device_id=server.id))
    conn.network.create_ip(floating_network_id=ext.id, port_id=port.id)
    conn.close()


def test_start_status_stop(state_dir: Path) -> None:
    first = _start(state_dir)
    assert first.returncode == 0, first.stderr
    clouds = state_dir / "clouds.yaml"
    assert f"export OS_CLIENT_CONFIG_FILE={clouds}" in first.stdout
    assert stat.S_IMODE(clouds.stat().st_mode) == 0o600
    password = yaml.safe_load(clouds.read_text())["clouds"]["local"]["auth"]["password"]
    assert password not in first.stdout + first.stderr
    again = _start(state_dir)
    assert again.returncode == 0 and "already running" in again.stdout
    _build(state_dir)
    status = cli("status", "--state-dir", str(state_dir))
    assert status.returncode == 0, status.stderr
    for word in ("compute1", "compute2", "public", "servers (1)", "floating IPs (1)"):
        assert word in status.stdout
    assert password not in status.stdout + (state_dir / "server.log").read_text()
    assert leftovers(PREFIX)["namespaces"]
    stop = cli("stop", "--state-dir", str(state_dir))
    assert stop.returncode == 0 and "stopped" in stop.stdout, stop.stderr
    assert_nothing_left(state_dir)
    assert not clouds.exists()
    assert "not running" in cli("stop", "--state-dir", str(state_dir)).stdout
    status = cli("status", "--state-dir", str(state_dir))
    assert status.returncode == 3 and "not running" in status.stdout


def test_kill_9_then_clean_twice(state_dir: Path) -> None:
    assert _start(state_dir).returncode == 0
    _build(state_dir)
    pid = read_server_file(state_dir)["pid"]
    os.kill(pid, signal.SIGKILL)
    assert leftovers(PREFIX)["namespaces"]
    status = cli("status", "--state-dir", str(state_dir))
    assert "crashed" in status.stdout and "servers (1): s" in status.stdout
    for _ in range(2):
        result = cli("clean", "--state-dir", str(state_dir))
        assert result.returncode == 0, result.stderr
        assert_nothing_left(state_dir)
    again = _start(state_dir)  # a clean state dir starts again
    assert again.returncode == 0, again.stderr
    assert cli("stop", "--state-dir", str(state_dir)).returncode == 0
    assert_nothing_left(state_dir)


@pytest.mark.parametrize("args, words", [
    (["start", "--port", "99999"], "invalid port"),
    (["start", "--compute-hosts", "0"], "compute-hosts"),
    (["start", "--prefix", "much-too-long"], "prefix"),
])
def test_user_mistakes_get_one_line(state_dir: Path, args: list[str], words: str) -> None:
    result = cli(*args, "--state-dir", str(state_dir), *RANGES)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmtp-localcloud: error:"), result.stderr
    assert words in lines[0]
    assert "Traceback" not in result.stderr


def test_port_in_use_is_one_line_and_leaves_nothing(state_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("start", "--state-dir", str(state_dir), "--prefix", PREFIX,
                     "--port", str(port), *RANGES)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and f"port {port}" in result.stderr
    assert_nothing_left(state_dir)
    assert _start(state_dir).returncode == 0  # nothing to clean first
    assert cli("stop", "--state-dir", str(state_dir)).returncode == 0
