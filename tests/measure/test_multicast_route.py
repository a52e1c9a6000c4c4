"""The 224.0.0.0/4 route a multicast row adds where none covers the group (VMTP added it on
every VM and host), between two namespaces without a default route, as the local cloud's
compute hosts are: added on the interface towards the peer, and gone after the row, also when
the process holding it is killed with SIGKILL."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from pytest_vmtp.measure.errors import MeasureError
from pytest_vmtp.measure.local_runner import LocalRunner
from pytest_vmtp.measure.multicast import multicast_route

# This module's own names ("vm1r": not "vm1-", the local cloud prefix of tests/e2e/
# test_multicast_external.py, whose clean-up sweeps "vm1-*") and range (198.18.182.0/24).
A_IP, B_IP = "198.18.182.1", "198.18.182.2"


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True)


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[str, str]]:
    tag = uuid.uuid4().hex[:4]
    a, b = f"vm1r-{tag}a", f"vm1r-{tag}b"
    try:
        for ns in (a, b):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("link", "add", f"vm1r{tag}a", "netns", a, "type", "veth", "peer", "name", f"vm1r{tag}b", "netns", b)
        for ns, end, addr in ((a, f"vm1r{tag}a", A_IP), (b, f"vm1r{tag}b", B_IP)):
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", end)
            _ip("-n", ns, "link", "set", end, "up")
        yield a, b
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def routes(ns: str) -> str:
    return _ip("-n", ns, "route", "show", "224.0.0.0/4").stdout.strip()


def test_route_added_towards_the_peer_and_removed(pair) -> None:
    a, _ = pair
    assert subprocess.run(["ip", "-n", a, "route", "get", "231.1.1.1"], capture_output=True).returncode != 0
    with LocalRunner(a) as runner, multicast_route(runner, B_IP, "231.1.1.1") as dev:
        assert dev is not None and dev.startswith("vm1r")
        assert routes(a) == f"224.0.0.0/4 dev {dev} scope link"
    assert routes(a) == ""


def test_a_peer_on_this_host_goes_by_the_interface_holding_its_address(pair) -> None:
    """VMTP's native intra-host flow: the peer is the host itself, whose route is lo's; the
    group goes out of the interface that holds the address (not "no route towards")."""
    a, _ = pair
    with LocalRunner(a) as runner, multicast_route(runner, A_IP, "231.1.1.1") as dev:
        assert dev is not None and dev.startswith("vm1r")
        assert routes(a) == f"224.0.0.0/4 dev {dev} scope link"
    assert routes(a) == ""


def test_an_existing_route_is_left_alone(pair) -> None:
    _, b = pair
    _ip("-n", b, "route", "add", "224.0.0.0/4", "dev", "lo")
    try:
        with LocalRunner(b) as runner, multicast_route(runner, A_IP, "231.1.1.1") as dev:
            assert dev is None
        assert routes(b) == "224.0.0.0/4 dev lo scope link"
    finally:
        _ip("-n", b, "route", "del", "224.0.0.0/4")


def test_no_way_to_the_peer_is_one_line(pair) -> None:
    a, _ = pair
    with LocalRunner(a) as runner, pytest.raises(MeasureError) as exc:
        with multicast_route(runner, "198.51.100.9", "231.1.1.1"):
            pass
    assert str(exc.value) == (f"host local netns {a}: no route towards 198.51.100.9 nor a default route "
                              "to send multicast by: add a 224.0.0.0/4 route there")
    assert routes(a) == ""


HOLD = """
import sys, time
from pytest_vmtp.measure.local_runner import LocalRunner
from pytest_vmtp.measure.multicast import multicast_route
with multicast_route(LocalRunner(sys.argv[1]), sys.argv[2], "231.1.1.1"):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_killed_run_leaves_no_route(pair) -> None:
    """kill -9 of the process that added it: its keeper sees its parent gone and removes it."""
    a, _ = pair
    proc = subprocess.Popen([sys.executable, "-c", HOLD, a, B_IP], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        assert routes(a).startswith("224.0.0.0/4 dev vm1r")
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 15  # the keeper looks once a second; a loaded machine is slower
    while routes(a) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = subprocess.run(["ip", "netns", "pids", a], capture_output=True, text=True).stdout.split()
    keepers = [subprocess.run(["ps", "-o", "pid,ppid,sid,stat,args", "-p", pid], capture_output=True,
                              text=True).stdout for pid in left]
    assert routes(a) == "", keepers
    assert subprocess.run(["ip", "netns", "pids", a], capture_output=True, text=True).stdout.strip() == ""
