"""Time the local cloud's data path: start, server boot to SSH-ready, VMTP topology build.

Run as root:  .venv/bin/python benchmarks/bench_dataplane.py [--servers 10] [--rounds 3]
Uses prefix "vlb" and the default ranges, so no other local cloud may be running.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pytest_vmtp.localcloud.dataplane import LinuxDataplane, PortSpec, SecurityRule, ServerSpec

PREFIX = "vlb"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the tests' topology helper
from table import Row, render  # noqa: E402, I001
from tests.localcloud.dp_fixtures import NET1 as NET  # noqa: E402
from tests.localcloud.dp_fixtures import build_vmtp_topology, owning_ranges  # noqa: E402

RULES = (SecurityRule("ingress", protocol="icmp"),
         SecurityRule("ingress", protocol="tcp", port_range_min=22, port_range_max=22))


def _spec(i: int, public: str) -> ServerSpec:
    port = PortSpec(f"{i:08x}-1111-4000-8000-000000000000", NET, f"fa:16:3e:01:{i // 256:02x}:"
                    f"{i % 256:02x}", f"192.168.1.{20 + i % 200}", 24, "192.168.1.1")
    return ServerSpec(f"{i:08x}-2222-4000-8000-000000000000", f"compute{i % 2 + 1}", (port,),
                      public, security_rules=RULES)


def _fmt(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.mean(ms):.1f} ms (min {min(ms):.1f}, max {max(ms):.1f}, n={len(ms)})"


def _key(directory: Path) -> tuple[Path, str]:
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key, (directory / "id_ed25519.pub").read_text()


@dataclass
class Figures:
    start: list[float] = field(default_factory=list)
    topology: list[float] = field(default_factory=list)
    first_ssh: list[float] = field(default_factory=list)
    boot: list[float] = field(default_factory=list)
    parallel: list[float] = field(default_factory=list)
    stop: list[float] = field(default_factory=list)


def _timed(into: list[float], func: Callable[[], object]) -> object:
    t0 = time.perf_counter()
    try:
        return func()
    finally:
        into.append(time.perf_counter() - t0)


def _round(dp: LinuxDataplane, key: Path, public: str, servers: int, fig: Figures) -> None:
    _timed(fig.start, dp.start)
    try:
        # The VMTP topology: router + gateway, 2 networks, 3 servers, 3 floating IPs.
        vms = _timed(fig.topology, lambda: build_vmtp_topology(dp, public))
        ssh = ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o",
               "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
               f"root@{vms['server'].fip}", "true"]
        _timed(fig.first_ssh, lambda: subprocess.run(ssh, check=True))
        for i in range(servers):  # one at a time: namespace, veth, filter, sshd listening
            _timed(fig.boot, lambda i=i: dp.boot_server(_spec(i, public)))
        specs = [_spec(100 + i, public) for i in range(servers)]
        with ThreadPoolExecutor(servers) as pool:
            _timed(fig.parallel, lambda: list(pool.map(dp.boot_server, specs)))
    finally:
        _timed(fig.stop, dp.stop)


BENCH = "data path"


def figures(servers: int = 10, rounds: int = 3) -> list[Row]:
    """Milliseconds per kernel-side step (mean over rounds), as table rows."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-dp-"))
    fig = Figures()
    try:
        key, public = _key(tmp)
        with owning_ranges():
            LinuxDataplane.clean(PREFIX, tmp / "state")
            try:
                for _ in range(rounds):
                    _round(LinuxDataplane(PREFIX, 2, tmp / "state"), key, public, servers, fig)
            finally:
                LinuxDataplane.clean(PREFIX, tmp / "state")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = servers
    return [Row(BENCH, name, _fmt(values), "", statistics.mean(values) * 1000, "ms") for name, values in (
        ("start (2 bridges, 2 computes + network node)", fig.start),
        ("VMTP topology (router, 2 nets, 3 VMs, 3 FIPs)", fig.topology),
        ("first ssh login through a floating IP", fig.first_ssh),
        ("boot_server to SSH-ready, one at a time", fig.boot),
        (f"{n} servers from {n} threads at once (wall)", fig.parallel),
        ("stop (all of the above removed)", fig.stop),
    )]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(render(figures(args.servers, args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
