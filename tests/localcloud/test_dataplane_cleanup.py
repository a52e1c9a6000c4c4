"""Nothing of a dataplane survives stop(), nor a kill -9 of its builder followed by clean()."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_vmtp.localcloud.dataplane import DataplaneError, LinuxDataplane
from pytest_vmtp.localcloud.dataplane.cleanup import leftovers, workdir_path
from tests.localcloud.dp_fixtures import (  # noqa: F401
    Topology,
    assert_nothing_left,
    build_vmtp_topology,
    make_key,
    owning_ranges,
    pytestmark,
)
from tests.localcloud.lc_support import processes_mentioning

REPO = Path(__file__).resolve().parents[2]

_CHILD = """
import sys, time
from collections.abc import Iterator
from pathlib import Path
from pytest_vmtp.localcloud.dataplane import LinuxDataplane
from tests.localcloud.dp_fixtures import build_vmtp_topology
dp = LinuxDataplane(sys.argv[1], 2, Path(sys.argv[2]))
dp.start(host_authorized_keys=sys.argv[3])
build_vmtp_topology(dp, sys.argv[3])
print("READY", flush=True)
time.sleep(600)
"""


@pytest.fixture(autouse=True)
def _ranges() -> Iterator[None]:
    with owning_ranges():
        yield


def test_stop_removes_everything(tmp_path: Path) -> None:
    key, public = make_key(tmp_path)
    dp = LinuxDataplane("vlk", 2, tmp_path / "state")
    try:
        dp.start(host_authorized_keys=public)
        build_vmtp_topology(dp, public)
        # Host sshd: the root namespace logs in to compute2 on its management address.
        topo = Topology(dp, key, public)
        res = topo.ssh(dp.host_address("compute2"), "ip netns identify $$")
        assert res.returncode == 0 and res.stdout.strip() == "vlk-compute2", res.stderr
        assert len(leftovers("vlk")["namespaces"]) == 2 + 1 + 3 + 1  # hosts, net node, VMs, router
        # The ranges are taken now: a second cloud refuses to start and leaves nothing.
        other = LinuxDataplane("vlj", 1, tmp_path / "state2")
        with pytest.raises(DataplaneError, match="already in use"):
            other.start()
        assert_nothing_left("vlj")
    finally:
        dp.stop()
    assert_nothing_left("vlk", workdir_path(tmp_path / "state", "vlk"))
    dp.stop()  # twice is fine


def test_clean_after_kill_9_of_the_builder(tmp_path: Path) -> None:
    _, public = make_key(tmp_path)
    state = tmp_path / "state"
    LinuxDataplane.clean("vlk", state)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, "vlk", str(state), public],
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().strip()
        assert line == "READY", child.stderr.read() if child.poll() is not None else line
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        left = leftovers("vlk")
        assert left["namespaces"] and left["root_links"] and left["root_rules"]
        assert processes_mentioning(str(workdir_path(state, "vlk")))  # the sshds live on
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        LinuxDataplane.clean("vlk", state)
    assert_nothing_left("vlk", workdir_path(state, "vlk"))
    LinuxDataplane.clean("vlk", state)  # safe to run twice
    assert_nothing_left("vlk")
