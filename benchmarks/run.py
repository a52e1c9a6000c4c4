"""Every speed and memory figure of pytest-vmtp in one table (and JSON), with its target.

`.venv/bin/python benchmarks/run.py [--only NAME ...] [--json benchmarks/results.json]`
(as root: the local cloud and the data path make namespaces). Each benchmark module has a
figures() function returning table rows; this runs them in turn on this machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from table import Row, render, write_json


def _benches() -> dict[str, Callable[[], list[Row]]]:
    import bench_dataplane
    import bench_fidelity
    import bench_load
    import bench_localcloud
    import bench_overhead
    import bench_plugin_cost
    import bench_scale
    import bench_soak
    import bench_vm_cost

    return {"plugin-cost": bench_plugin_cost.figures, "local-cloud": bench_localcloud.figures,
            "data-path": bench_dataplane.figures, "vm-cost": bench_vm_cost.figures,
            "fidelity": bench_fidelity.figures, "overhead": bench_overhead.figures, "scale": bench_scale.figures,
            "load": bench_load.figures, "soak": bench_soak.figures}


def machine() -> dict[str, str]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = next((ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")),
               "0")
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory_gib": f"{int(mem) / 2**20:.0f}",
            "kernel": platform.release(), "python": platform.python_version(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def main() -> int:
    benches = _benches()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(benches), help="run only these (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the figures and the machine to this JSON file")
    args = parser.parse_args()
    rows: list[Row] = []
    for name in args.only or list(benches):
        started = time.monotonic()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows += benches[name]()
        print(f"  {name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    info = machine()
    print(f"{info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, Linux {info['kernel']}, "
          f"Python {info['python']}, {info['date']}")
    print(render(rows))
    if args.json:
        write_json(rows, args.json, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
