"""Overhead: the wall time of the full matrix (every row, on the local cloud) against the sum of
the tools' own run times in it. Target: under 10 %. Where the rest goes: the topology build,
the teardown, and per row what its measurement took beyond the tools (SSH, tool servers, the
UDP search's probes counted as tool time) and the gaps between rows (pytest, fixtures).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from cloudrun import local_cloud, vmtp
from table import Row

BENCH = "overhead"
TARGET_PCT = 10.0


def tool_seconds(doc: dict[str, Any]) -> float:
    """What the tools themselves ran for: each TCP run and full UDP run its duration, each UDP
    probe its length, each ping size count x interval."""
    duration = float(doc["args"]["duration_s"])
    total = 0.0
    for flow in doc["flows"]:
        for item in flow.get("results") or []:
            if "error" in item:
                continue
            if item.get("protocol") == "ICMP":
                per = float(doc["args"]["ping_count"]) * float(item.get("ping_interval_s") or 1.0)
                total += per * len(item["results"])
                continue
            total += duration
            search = item.get("rate_search")
            if search:
                total += float(search["probe_s"]) * len(search["probes"])
    return total


def figures(duration: int = 3, select: tuple[str, ...] = ()) -> list[Row]:
    """select: pytest arguments narrowing the matrix (e.g. -k 1.1), for a quick look."""
    with local_cloud() as (handle, _), tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        doc, wall = vmtp(handle, Path(tmp), {"duration_s": duration}, *select)
    tools = tool_seconds(doc)
    timings = doc["metadata"].get("timings") or {}
    setup, teardown = float(timings.get("setup_s") or 0), float(timings.get("teardown_s") or 0)
    rows_s = sum(float(f.get("duration_s") or 0) for f in doc["flows"])
    ran = sum(1 for f in doc["flows"] if f["status"] != "SKIPPED")
    over = 100 * (wall - tools) / tools
    verdict = "met" if over <= TARGET_PCT else "MISSED"
    return [
        Row(BENCH, f"full matrix ({ran} rows, --vmtp-time {duration}): wall time", f"{wall:.1f} s", "", wall, "s"),
        Row(BENCH, "the tools' own run time in it", f"{tools:.1f} s", "", tools, "s"),
        Row(BENCH, "overhead: wall / tools - 1", f"{over:.1f} %", f"< {TARGET_PCT:g} %: {verdict}", over, "%"),
        Row(BENCH, "  of which: topology build (networks, router, VMs, SSH ready)", f"{setup:.1f} s", "", setup, "s"),
        Row(BENCH, "  of which: teardown (every resource deleted)", f"{teardown:.1f} s", "", teardown, "s"),
        Row(BENCH, "  of which: rows beyond their tools (SSH, servers, checks)", f"{rows_s - tools:.1f} s", "",
            rows_s - tools, "s"),
        Row(BENCH, "  of which: the rest (pytest, imports, between rows)",
            f"{wall - rows_s - setup - teardown:.1f} s", "", wall - rows_s - setup - teardown, "s"),
    ]


if __name__ == "__main__":
    from table import render

    print(render(figures()))
