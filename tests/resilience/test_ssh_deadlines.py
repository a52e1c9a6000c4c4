"""No SSH fault hangs a runner: a dead link, a dead sshd and a stuck command each end within
their deadline, in one line naming what was seen (a namespace lab of its own, random names).

Before keepalives and TCP_USER_TIMEOUT, a command whose link died waited for its own timeout
and then up to an hour (paramiko's channel_timeout) to open the channel that kills it; with
no timeout it waited for TCP's retransmissions to give up (~15 min).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from support.netns_hosts import NetnsLab, netns_hosts

from pytest_vmtp.measure import deadlines
from pytest_vmtp.measure.errors import RunnerError
from pytest_vmtp.measure.hostspec import parse_host_spec
from pytest_vmtp.measure.settings import MeasureSettings
from pytest_vmtp.measure.ssh_runner import SshRunner

FAST = MeasureSettings(command_grace_s=2, ssh_keepalive_s=1)


@pytest.fixture(scope="module")
def lab() -> Iterator[NetnsLab]:
    with netns_hosts(1) as the_lab:
        yield the_lab


@pytest.fixture
def runner(lab: NetnsLab) -> Iterator[SshRunner]:
    target = deadlines.ssh(parse_host_spec(lab.hosts[0].spec), FAST)
    with SshRunner(target, netns=lab.controller.netns) as ssh:
        yield ssh


def _in_host(lab: NetnsLab, *argv: str) -> None:
    subprocess.run(["ip", "netns", "exec", lab.hosts[0].netns, *argv], check=True, capture_output=True)


def _later(delay: float, action) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), action()), daemon=True)
    thread.start()
    return thread


def _timed_failure(runner: SshRunner, command: str, timeout: float) -> tuple[str, float]:
    start = time.monotonic()
    with pytest.raises(RunnerError) as info:
        runner.run(command, timeout=timeout)
    return str(info.value), time.monotonic() - start


def test_a_link_that_dies_mid_command_is_a_lost_connection_within_the_grace(lab, runner) -> None:
    assert runner.run("echo up", timeout=5).stdout == "up\n"
    drop = ("iptables", "-w", "-I", "INPUT", "-j", "DROP")
    _later(0.5, lambda: _in_host(lab, *drop))
    try:
        message, took = _timed_failure(runner, "sleep 30", timeout=60)
    finally:
        _in_host(lab, "iptables", "-w", "-D", "INPUT", "-j", "DROP")
    assert message == (f"ssh root@{lab.hosts[0].ip}: connection lost while running sleep 30: no answer "
                       "(a link down or the host gone; dead after 2 s of silence)"), message
    assert took < 0.5 + 3 + 2 * 1 + 3 + 2, took  # grace, two keepalive periods, the probe, slack
    assert runner.run("echo back", timeout=10).stdout == "back\n"  # a new connection


def test_a_dead_link_under_a_timed_out_command_does_not_hang_the_kill(lab, runner) -> None:
    """The command's own deadline comes first; killing it needs the link, which is gone."""
    assert runner.run("true", timeout=5).ok
    _later(0.3, lambda: _in_host(lab, "iptables", "-w", "-I", "INPUT", "-j", "DROP"))
    try:
        message, took = _timed_failure(runner, "sleep 30", timeout=1)
    finally:
        _in_host(lab, "iptables", "-w", "-D", "INPUT", "-j", "DROP")
    assert message.startswith(f"ssh root@{lab.hosts[0].ip}: command timed out after 1 s"), message
    assert took < 1 + 3 + 3 + 2, took  # the timeout, the kill's channel, the probe, slack


def test_a_link_dead_before_the_command_is_a_lost_connection(lab, runner) -> None:
    assert runner.run("true", timeout=5).ok
    _in_host(lab, "iptables", "-w", "-I", "INPUT", "-j", "DROP")
    try:
        message, took = _timed_failure(runner, "true", timeout=10)
    finally:
        _in_host(lab, "iptables", "-w", "-D", "INPUT", "-j", "DROP")
    assert message.startswith(f"ssh root@{lab.hosts[0].ip}: connection lost while running true: no answer"), message
    assert took < 3 + 3 + 2, took


def _kill_sshd(netns: str) -> None:
    """SIGKILL every sshd of the namespace (the listener and the sessions), by pid."""
    pids = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout.split()
    for pid in pids:
        try:
            if open(f"/proc/{pid}/comm").read().strip() == "sshd":
                subprocess.run(["kill", "-KILL", pid], capture_output=True)
        except OSError:
            continue


def test_sshd_killed_mid_command_is_a_lost_connection_at_once() -> None:
    with netns_hosts(1) as own:  # its sshd dies: a lab of its own
        target = deadlines.ssh(parse_host_spec(own.hosts[0].spec), FAST)
        with SshRunner(target, netns=own.controller.netns) as runner:
            assert runner.run("true", timeout=5).ok
            _later(0.5, lambda: _kill_sshd(own.hosts[0].netns))
            message, took = _timed_failure(runner, "sleep 31; echo never", timeout=60)
    assert message == (f"ssh root@{own.hosts[0].ip}: connection lost while running sleep 31; echo never: "
                       "nothing listens on its SSH port any more (its sshd or the host died)"), message
    assert took < 3, took


def test_the_settings_derive_every_deadline() -> None:
    s = replace(FAST, duration_s=10, ping_count=10, ping_interval_s=0.2)
    assert deadlines.command(s, s.duration_s) == 12
    assert deadlines.ping(s) == 10 * 0.2 + 10 + 2
    target = deadlines.ssh(parse_host_spec("root@192.0.2.1,jump=op@192.0.2.2"), s)
    assert (target.keepalive_s, target.dead_after_s) == (1, 2)
    assert target.jump is not None and target.jump.dead_after_s == 2
    assert deadlines.machine_lock(s) == 23 * max(deadlines.row(s, p) for p in ("tcp", "udp", "icmp"))
