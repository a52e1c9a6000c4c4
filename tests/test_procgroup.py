"""procgroup: real process groups, stubborn members, zombies and strangers' children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from pytest_vmtp import procgroup

# A group leader that ignores SIGTERM, with a member that ignores it too.
STUBBORN = "trap '' TERM; sleep 60 & wait"
# A leader that dies on SIGTERM while a member ignores it and lives on.
ORPHANING = "(trap '' TERM; exec sleep 60) & sleep 0.05; exec sleep 60"


def group(script: str) -> subprocess.Popen[bytes]:
    """sh -c script in a session (and so a process group) of its own."""
    proc = subprocess.Popen(["/bin/sh", "-c", script], start_new_session=True)
    wait_for(lambda: len(members(proc.pid)) >= 2)
    return proc


def members(pgid: int) -> list[int]:
    out = []
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) == pgid and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    return out


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def leftovers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Groups a test made; whatever it left is killed."""
    made: list[subprocess.Popen[bytes]] = []
    yield made
    for proc in made:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def test_stop_group_kills_what_ignores_sigterm_and_keeps_the_exit_status(leftovers) -> None:
    proc = group(STUBBORN)
    leftovers.append(proc)
    started = time.monotonic()
    procgroup.stop_group(proc.pid, 0.3, reap_leader=proc.poll)
    assert 0.3 <= time.monotonic() - started < 3.0  # SIGTERM, the grace period, SIGKILL
    assert members(proc.pid) == []
    assert not procgroup.group_alive(proc.pid)
    assert proc.returncode == -signal.SIGKILL  # reaped through Popen, which kept the status


def test_a_dead_leader_does_not_end_the_wait_while_a_member_lives(leftovers) -> None:
    proc = group(ORPHANING)
    leftovers.append(proc)
    os.kill(proc.pid, signal.SIGTERM)
    wait_for(lambda: proc.poll() is not None)  # the leader is gone, reaped
    assert procgroup.group_alive(proc.pid)  # ... but its member still runs
    procgroup.stop_group(proc.pid, 0.3)
    assert members(proc.pid) == []


def test_stop_group_reaps_the_leader_when_nobody_polls_it() -> None:
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    procgroup.stop_group(proc.pid, 2.0)
    with pytest.raises(psutil.NoSuchProcess):  # reaped: no zombie left behind
        psutil.Process(proc.pid).status()
    proc.returncode = 0  # Popen must not try to reap it again


def test_stop_group_of_a_stranger_waits_until_it_is_gone() -> None:
    # A grandchild leading its own session: not our child, so it can only be watched.
    out = subprocess.run(["/bin/sh", "-c", "setsid sleep 60 >/dev/null 2>&1 & echo $!"],
                         capture_output=True, text=True, check=True).stdout
    pid = int(out)
    wait_for(lambda: procgroup.cmdline(pid) == "sleep 60")
    procgroup.stop_group(pid, 2.0)
    wait_for(lambda: not psutil.pid_exists(pid) or not procgroup.alive(pid), timeout=0.5)
    assert not procgroup.group_alive(pid)


def test_kill_groups_ends_several_at_once_and_leaves_no_zombie(leftovers) -> None:
    procs = [group(STUBBORN) for _ in range(3)]
    leftovers.extend(procs)
    pids = [p.pid for p in procs]
    procgroup.kill_groups(pids, wait=5.0)
    for pid in pids:
        assert members(pid) == []
        with pytest.raises(psutil.NoSuchProcess):
            psutil.Process(pid).status()
    for proc in procs:
        proc.returncode = -signal.SIGKILL


def test_alive_sees_zombies_as_dead_and_reaps_only_on_request() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_for(lambda: psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE)
    assert procgroup.cmdline(proc.pid) == ""
    assert not procgroup.alive(proc.pid)
    assert psutil.pid_exists(proc.pid)  # still a zombie: not reaped behind Popen's back
    assert not procgroup.alive(proc.pid, reap_zombie=True)
    assert not psutil.pid_exists(proc.pid)
    proc.returncode = 0


def test_cmdline_and_send_signal_of_live_and_gone_processes() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        wait_for(lambda: procgroup.cmdline(proc.pid) == "sleep 30")  # once it has exec'd
        assert procgroup.alive(proc.pid)
        assert procgroup.send_signal(proc.pid, signal.SIGTERM)
        proc.wait(5)
    finally:
        proc.kill()
        proc.wait()
    assert procgroup.cmdline(proc.pid) == ""
    assert not procgroup.send_signal(proc.pid, signal.SIGTERM)
