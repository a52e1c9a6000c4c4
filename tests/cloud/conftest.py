"""The local cloud as a real OpenStack endpoint for the cloud/ tests.

One local cloud per session (prefix vlt3, so it does not collide with colleagues' clouds);
stopped at the end, also after failures. Each test that builds cloud resources removes them
with cleanup(run_id) in its finalizer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_vmtp.cloud import CloudSettings, Topology, cleanup, connect, new_run_id

BIN = Path(sys.executable).parent
LOCALCLOUD = BIN / "vmtp-localcloud"
PREFIX = "vlt3"
# Ranges of our own (RFC 2544 space) so that colleagues' local clouds can run at the same time.
MGMT_CIDR = "198.18.30.0/24"
EXTERNAL_CIDR = "198.18.31.0/24"
FLOATING_PREFIX = "198.18.31."


def _localcloud_missing() -> str | None:
    try:
        import pytest_vmtp.localcloud.control  # noqa: F401
    except ImportError:
        return "the local cloud (pytest_vmtp.localcloud.control) is not committed yet"
    if not LOCALCLOUD.exists():
        return f"{LOCALCLOUD} missing: pip install -e . again"
    if os.geteuid() != 0:
        return "the local cloud needs root (network namespaces)"
    return None


@pytest.fixture(scope="package")  # ends with this folder: no cloud or env leaks into others
def localcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Start the local cloud; yield its clouds.yaml; stop it at the end."""
    reason = _localcloud_missing()
    if reason:
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("localcloud")
    start = [str(LOCALCLOUD), "start", "--state-dir", str(state), "--prefix", PREFIX,
             "--mgmt-cidr", MGMT_CIDR, "--external-cidr", EXTERNAL_CIDR]
    started = subprocess.run(start, capture_output=True, text=True, timeout=180)
    if started.returncode != 0 and "already in use" in started.stderr:
        # A crashed earlier session of these tests left its cloud (our prefix): remove it, retry.
        subprocess.run([str(LOCALCLOUD), "clean", "--state-dir", str(state), "--prefix", PREFIX],
                       capture_output=True, timeout=180)
        started = subprocess.run(start, capture_output=True, text=True, timeout=180)
    try:
        if started.returncode != 0:
            pytest.fail(f"vmtp-localcloud start failed ({started.returncode}): {started.stderr[-2000:]}")
        yield state / "clouds.yaml"
    finally:
        subprocess.run([str(LOCALCLOUD), "stop", "--state-dir", str(state)], capture_output=True, timeout=180)


@pytest.fixture(scope="package")  # ends with this folder: no cloud or env leaks into others
def cloud_env(localcloud: Path) -> Iterator[dict[str, str]]:
    """OS_CLIENT_CONFIG_FILE pointing at the local cloud, for this process and subprocesses."""
    old = os.environ.get("OS_CLIENT_CONFIG_FILE")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(localcloud)
    try:
        yield dict(os.environ)
    finally:
        if old is None:
            os.environ.pop("OS_CLIENT_CONFIG_FILE", None)
        else:
            os.environ["OS_CLIENT_CONFIG_FILE"] = old


@pytest.fixture(scope="package")  # ends with this folder: no cloud or env leaks into others
def conn(cloud_env: dict[str, str]):
    connection = connect("local")
    yield connection
    connection.close()


def local_settings(**overrides) -> CloudSettings:
    values = dict(image="vmtp-local", flavor="m1.tiny", boot_timeout_s=120, ssh_timeout_s=60)
    values.update(overrides)
    return CloudSettings(**values)


@pytest.fixture
def run_id(conn) -> Iterator[str]:
    """A fresh run id whose resources are deleted after the test, whatever happened."""
    rid = new_run_id()
    yield rid
    cleanup(conn, rid)


@pytest.fixture
def topology(conn, run_id: str, tmp_path: Path) -> Topology:
    messages: list[str] = []
    topo = Topology(conn, local_settings(), run_id, tmp_path / "shared", progress=messages.append)
    topo.messages = messages  # type: ignore[attr-defined]
    return topo
