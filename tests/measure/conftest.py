"""Fixtures of the measurement engine's tests: captured tool outputs and a namespace lab."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.netns_hosts import NetnsLab, netns_hosts

from pytest_vmtp.measure.hostspec import parse_host_spec
from pytest_vmtp.measure.local_runner import LocalRunner
from pytest_vmtp.measure.settings import MeasureSettings
from pytest_vmtp.measure.ssh_runner import SshRunner

DATA = Path(__file__).resolve().parents[1] / "data"


def data(name: str) -> str:
    """A tool output captured on the development machine (see tests/data)."""
    return (DATA / name).read_text()


@pytest.fixture(scope="session")
def lab() -> Iterator[NetnsLab]:
    """Controller + 2 hosts on one bridge, each host with its own sshd; torn down at the end."""
    with netns_hosts(2) as the_lab:
        yield the_lab


@pytest.fixture
def ctl(lab: NetnsLab) -> Iterator[LocalRunner]:
    with LocalRunner(lab.controller.netns) as runner:
        yield runner


@pytest.fixture
def h1(lab: NetnsLab) -> Iterator[LocalRunner]:
    with LocalRunner(lab.hosts[0].netns) as runner:
        yield runner


@pytest.fixture
def ssh_h1(lab: NetnsLab) -> Iterator[SshRunner]:
    with SshRunner(parse_host_spec(lab.hosts[0].spec), netns=lab.controller.netns) as runner:
        yield runner


@pytest.fixture
def ssh_h2(lab: NetnsLab) -> Iterator[SshRunner]:
    with SshRunner(parse_host_spec(lab.hosts[1].spec), netns=lab.controller.netns) as runner:
        yield runner


@pytest.fixture
def fast() -> MeasureSettings:
    """Short runs: the tests check plumbing and plausibility, not performance."""
    return MeasureSettings(
        duration_s=1, tcp_runs=2, ping_count=3, ping_interval_s=0.05,
        udp_pkt_sizes=(1024,), udp_probe_s=1, udp_search_max_probes=6,
    )


def processes_in(netns: str) -> list[str]:
    """Command names of the processes living in a namespace."""
    pids = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
    names = []
    for pid in pids.stdout.split():
        try:
            names.append(Path(f"/proc/{pid}/comm").read_text().strip())
        except OSError:
            pass
    return names


def tool_processes_in(netns: str) -> list[str]:
    return [n for n in processes_in(netns) if n in ("nuttcp", "iperf", "iperf3", "ping", "sleep")]
