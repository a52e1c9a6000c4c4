"""Soak: short pytest-vmtp runs back to back on one local cloud; does anything grow?

Plain script (root): `.venv/bin/python benchmarks/bench_soak.py [--runs 50]`.
Runs its own cloud (prefix vm8, 198.18.210-211.0/24) in a temporary state dir and removes it.

Each run is `pytest --pyargs pytest_vmtp.scenarios` with one ICMP and one TCP row on two VMs
(1 s tests), which boots its VMs, measures, deletes everything and exits. After each run:
the cloud's namespaces, links (root namespace and the cloud's namespaces), iptables rules (the
same), processes (in the cloud's namespaces, and the server's children), the API server's open
file descriptors and memory (RSS), and the files left under the runs' temporary directory.
The figures: first and last value of each, and the slope of a least-squares line through all of
them (per run): a leak grows steadily, noise does not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from table import Row, render

from pytest_vmtp.localcloud import control

PREFIX = "vm8"
MGMT, EXT = "198.18.210.0/24", "198.18.211.0/24"
BENCH = "soak"
FAST = """\
duration_s: 1
tcp_runs: 1
icmp_pkt_sizes: [64]
ping_count: 3
ping_interval_s: 0.05
bandwidth: 100M
history: false
"""


def _lines(*argv: str) -> list[str]:
    return subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()


def _namespaces() -> list[str]:
    return [n.split()[0] for n in _lines("ip", "netns", "list") if n.startswith(f"{PREFIX}-")]


def sample(server_pid: int, tmp: Path) -> dict[str, float]:
    """One look at everything that could leak."""
    spaces = _namespaces()
    links = sum(1 for ln in _lines("ip", "-br", "link") if ln.startswith(PREFIX))
    rules = sum(1 for ln in _lines("iptables-save") if ln.startswith("-A") and PREFIX in ln)
    processes = 0
    for ns in spaces:
        links += len(_lines("ip", "-n", ns, "-br", "link"))
        rules += sum(1 for ln in _lines("ip", "netns", "exec", ns, "iptables-save") if ln.startswith("-A"))
        processes += len(_lines("ip", "netns", "pids", ns))
    server = psutil.Process(server_pid)
    processes += len(server.children(recursive=True))
    files = sum(len(names) + len(dirs) for _, dirs, names in os.walk(tmp))
    return {"namespaces": len(spaces), "links": links, "iptables rules": rules, "processes": processes,
            "API server open fds": server.num_fds(), "API server RSS MiB": server.memory_info().rss / 2**20,
            "files under the runs' TMPDIR": files}


def slope(values: list[float]) -> float:
    """Least-squares slope per run."""
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    var = sum((x - mean_x) ** 2 for x in range(n))
    return sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / var if var else 0.0


def figures(runs: int = 50) -> list[Row]:
    state_dir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-soak-tmp-"))
    control.clean(state_dir, PREFIX)
    handle = control.start(state_dir, prefix=PREFIX, mgmt_cidr=MGMT, external_cidr=EXT)
    config = tmp.parent / f"{tmp.name}.yaml"
    config.write_text(FAST)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "PYTEST_XDIST"))}
    env.update(VMTP_LOCALCLOUD_STATE_DIR=str(state_dir), TMPDIR=str(tmp))
    samples: list[dict[str, float]] = []
    failed: list[str] = []
    durations: list[float] = []
    try:
        samples.append(sample(handle.pid, tmp))
        for i in range(runs):
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider", "-q",
                 "-m", "(icmp or tcp) and same_network and intra_node and fixed_ip", "--vmtp-config", str(config)],
                env=env, cwd=tmp, capture_output=True, text=True, timeout=600)
            durations.append(time.monotonic() - started)
            if done.returncode != 0:
                failed.append(f"run {i + 1}: exit {done.returncode}: {done.stdout[-300:]}")
            samples.append(sample(handle.pid, tmp))
            print(f"  run {i + 1}/{runs}: {durations[-1]:.1f} s, {samples[-1]}", file=sys.stderr, flush=True)
    finally:
        control.stop(handle)
        control.clean(state_dir, PREFIX)
        config.unlink(missing_ok=True)
    rows = [Row(BENCH, f"{runs} runs of 2 rows (1.1 TCP, 1.3 ICMP; 2 VMs each): failed runs", str(len(failed)),
                f"0: {'met' if not failed else 'MISSED'}", len(failed), "runs"),
            Row(BENCH, "one run: median / slowest", f"{sorted(durations)[len(durations) // 2]:.1f} / "
                f"{max(durations):.1f} s", "", max(durations), "s")]
    for key in samples[0]:
        values = [s[key] for s in samples[1:]]  # after each run (the first: before any)
        per_run = slope(values)
        # Growth: more than one unit over all runs on the fitted line (RSS: 2 MiB, allocator noise).
        limit = 2.0 if "MiB" in key else 1.0
        grows = abs(per_run * (len(values) - 1)) > limit
        fmt = "{:.1f}" if "MiB" in key else "{:.0f}"
        rows.append(Row(BENCH, f"{key}: before, after run 1, after run {runs}, slope per run",
                        f"{fmt.format(samples[0][key])}, {fmt.format(values[0])}, {fmt.format(values[-1])}, "
                        f"{per_run:+.3f}", f"no growth: {'MISSED' if grows else 'met'}", per_run, "per run"))
    for line in failed[:3]:
        print(f"  failed: {line}", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    print(render(figures(parser.parse_args().runs)))


if __name__ == "__main__":
    main()
