"""Paths with known behaviour for the UDP tests, made of real kernel features in the lab.

- tbf: a token-bucket shaper on the bridge port towards a host: loss cuts in sharply at the
  shaped rate (what arrives stays at the rate; all the rest is dropped).
- a CPU quota (cgroup v1 cpu controller) on the receiving tool: loss grows gradually with
  the rate, and what arrives keeps growing with it, as with a VM short of CPU.
- a counter of the datagrams that reach a namespace (an iptables rule), independent of what
  the tools report about themselves.
Each helper removes what it made on exit, also after a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.netns_hosts import NetnsLab

CPU_CGROUP_ROOT = Path("/sys/fs/cgroup/cpu")
UDP_IP_OVERHEAD = 8 + 20  # UDP and IPv4 headers: a 1024 B datagram is a 1052 B IP packet


def _run(*argv: str) -> str:
    res = subprocess.run(argv, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {res.stderr.strip()}")
    return res.stdout


def bridge_port(lab: NetnsLab, host_index: int) -> str:
    """The lab's link whose egress is host `host_index`'s ingress (netns_hosts' naming)."""
    return f"vtst-{lab.tag}-{host_index + 1}"


@contextmanager
def tbf(lab: NetnsLab, host_index: int, mbit: int, latency_ms: int = 5) -> Iterator[None]:
    """Shape everything sent to lab.hosts[host_index] to `mbit` Mbit/s (IP packets plus
    their Ethernet header, so about 96 % of it is UDP payload at 1024 B).

    latency_ms bounds the queue: a long one (50 ms) absorbs the excess of a 1 s probe
    that a full-length run then loses, which blurs the cut-off this path is for."""
    dev = bridge_port(lab, host_index)
    burst = max(32_000, mbit * 1000 // 8 * 10 // 4)  # 2.5 ms worth of bytes, at least 32 kB
    _run("tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", f"{mbit}mbit",
         "burst", str(burst), "latency", f"{latency_ms}ms")
    try:
        yield
    finally:
        subprocess.run(["tc", "qdisc", "del", "dev", dev, "root"], capture_output=True)


@contextmanager
def cpu_quota(tool: str, percent: float, period_us: int = 10_000) -> Iterator[dict[str, str]]:
    """An environment (for LocalRunner) whose `tool` runs in a cgroup held to `percent` of
    one CPU. A short period (10 ms) spreads the quota evenly, so the loss grows smoothly
    with the rate instead of coming in 100 ms bursts.

    `ip netns exec` mounts a fresh /sys, hiding the cgroup file system: the tool's wrapper
    reaches the group through a bind mount of the cpu hierarchy in a private directory."""
    if not (CPU_CGROUP_ROOT / "cpu.cfs_quota_us").exists():
        raise RuntimeError("needs the cgroup v1 cpu controller at /sys/fs/cgroup/cpu")
    name = f"vtst-quota-{uuid.uuid4().hex[:6]}"
    group = CPU_CGROUP_ROOT / name
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    bindir, hierarchy = workdir / "bin", workdir / "cpu"
    bindir.mkdir()
    hierarchy.mkdir()
    group.mkdir()
    mounted = False
    try:
        (group / "cpu.cfs_period_us").write_text(str(period_us))
        (group / "cpu.cfs_quota_us").write_text(str(int(period_us * percent / 100)))
        _run("mount", "--bind", str(CPU_CGROUP_ROOT), str(hierarchy))
        mounted = True
        real = _run("sh", "-c", f"command -v {tool}").strip()
        wrapper = bindir / tool
        wrapper.write_text(f"#!/bin/sh\necho $$ > {hierarchy}/{name}/cgroup.procs || exit 97\n"
                           f"exec {real} \"$@\"\n")
        wrapper.chmod(0o755)
        yield {**os.environ, "PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    finally:
        for pid in (group / "cgroup.procs").read_text().split():  # none once the server stopped
            try:
                (CPU_CGROUP_ROOT / "cgroup.procs").write_text(pid)
            except OSError:
                pass
        group.rmdir()
        if mounted:
            subprocess.run(["umount", str(hierarchy)], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def throttled(percent_group_prefix: str = "vtst-quota-") -> int:
    """How often the kernel held back a quota group of ours (cpu.stat nr_throttled)."""
    total = 0
    for group in CPU_CGROUP_ROOT.glob(f"{percent_group_prefix}*"):
        for line in (group / "cpu.stat").read_text().splitlines():
            if line.startswith("nr_throttled "):
                total += int(line.split()[1])
    return total


class UdpCounter:
    """Counts the datagrams of one size that reach a namespace (iptables INPUT rule)."""

    def __init__(self, netns: str, payload: int) -> None:
        self.netns, self.length = netns, payload + UDP_IP_OVERHEAD
        self.comment = f"vtst-count-{uuid.uuid4().hex[:6]}"
        self._rule = ["INPUT", "-p", "udp", "-m", "length", "--length", str(self.length),
                      "-m", "comment", "--comment", self.comment]

    def __enter__(self) -> UdpCounter:
        _run("ip", "netns", "exec", self.netns, "iptables", "-I", *self._rule)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["ip", "netns", "exec", self.netns, "iptables", "-D", *self._rule],
                       capture_output=True)

    @property
    def packets(self) -> int:
        out = _run("ip", "netns", "exec", self.netns, "iptables", "-nvxL", "INPUT")
        line = next(ln for ln in out.splitlines() if self.comment in ln)
        return int(line.split()[0])


@contextmanager
def drop_udp_data(netns: str, min_length: int = 500) -> Iterator[None]:
    """Drop every UDP datagram of at least min_length bytes arriving in netns: the tools'
    small control datagrams pass (iperf3's UDP handshake), their data does not."""
    rule = ["INPUT", "-p", "udp", "-m", "length", "--length", f"{min_length}:65535", "-j", "DROP"]
    _run("ip", "netns", "exec", netns, "iptables", "-I", *rule)
    try:
        yield
    finally:
        subprocess.run(["ip", "netns", "exec", netns, "iptables", "-D", *rule], capture_output=True)
