"""What installing pytest-vmtp costs an unrelated pytest run.

pytest loads every pytest11 plugin of the environment, so the plugin's import and hooks are
paid by every project's test run. Target: a one-test project runs within 50 ms of the same
run with `-p no:vmtp`. Runs are paired (A B A B ...) and the median difference is reported,
so that a machine whose speed drifts does not move the figure.

`.venv/bin/python benchmarks/bench_plugin_cost.py [--runs 21]`
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from table import Row, render

TARGET_MS = 50.0
BENCH = "plugin cost"


def _wall(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def figures(runs: int = 21) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-plugin-cost-") as tmp:
        project = Path(tmp)
        (project / "test_one.py").write_text("def test_one():\n    assert True\n")
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        with_plugin, without = base, [*base, "-p", "no:vmtp"]
        _wall(with_plugin, project)  # warm the page cache and .pyc files
        _wall(without, project)
        pairs = [(_wall(with_plugin, project), _wall(without, project)) for _ in range(runs)]
    extra_ms = statistics.median(a - b for a, b in pairs) * 1000
    plain_ms = statistics.median(b for _, b in pairs) * 1000
    verdict = "met" if extra_ms <= TARGET_MS else "MISSED"
    return [
        Row(BENCH, "pytest, one-test project, -p no:vmtp (median)", f"{plain_ms:.0f} ms", "", plain_ms, "ms"),
        Row(BENCH, "added by the installed plugin (median of paired runs)", f"{extra_ms:+.0f} ms",
            f"<= {TARGET_MS:.0f} ms: {verdict}", extra_ms, "ms"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    print(render(figures(args.runs)))


if __name__ == "__main__":
    main()
