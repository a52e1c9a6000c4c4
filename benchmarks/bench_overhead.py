"""Overhead: the wall time of the full matrix (every row, on the local cloud) against the sum of
the tools' own run times in it: each TCP run, UDP probe, full UDP run and ping size as long as
the same tool takes by hand (timed here between two bare namespaces). Target: under 10 %.
Where the rest goes: the topology build, the teardown, per row what its measurement took beyond
the tools (SSH round trips, tool servers started and stopped, tool checks) and the gaps
between rows (pytest, fixtures).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_scale import RAW, raw_pair
from cloudrun import local_cloud, vmtp
from table import Row

BENCH = "overhead"
TARGET_PCT = 10.0


@dataclass(frozen=True)
class ToolWalls:
    """What one invocation of each tool takes by hand, start to exit (nuttcp's UDP mode waits
    about 2 s for the receiver's report after its -T: that is the tool's own time too)."""

    tcp: float  # nuttcp -T<duration>
    udp_probe: float  # nuttcp -u -T<udp_probe_s>
    udp: float  # nuttcp -u -T<duration>
    ping: float  # ping -c <count> -i <interval>, one size


def _wall(argv: list[str]) -> float:
    began = time.monotonic()
    subprocess.run(argv, capture_output=True, timeout=120, check=True)
    return time.monotonic() - began


def tool_walls(duration: float, probe_s: float, count: int, interval: float) -> ToolWalls:
    """Each tool timed by hand between two bare namespaces (bench_scale's veth pair)."""
    with ExitStack() as stack:
        dest = raw_pair(stack, "o", vxlan=False)
        a, b = f"{RAW}-oa", f"{RAW}-ob"
        server = subprocess.Popen(["ip", "netns", "exec", b, "nuttcp", "-S", "--nofork"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        stack.callback(server.wait, 10)
        stack.callback(server.terminate)
        time.sleep(0.3)
        client = ["ip", "netns", "exec", a, "nuttcp", "-fparse"]
        return ToolWalls(
            tcp=_wall([*client, f"-T{duration:g}", dest]),
            udp_probe=_wall([*client, "-u", "-l1024", "-R500M", f"-T{probe_s:g}", dest]),
            udp=_wall([*client, "-u", "-l1024", "-R500M", f"-T{duration:g}", dest]),
            ping=_wall(["ip", "netns", "exec", a, "ping", "-q", "-c", str(count), "-i", f"{interval:g}", dest]))


def tool_seconds(doc: dict[str, Any], walls: ToolWalls) -> float:
    """What the tools themselves ran for: every TCP run, UDP probe and full UDP run, and ping
    size of the run, each as long as it takes by hand."""
    total = 0.0
    for flow in doc["flows"]:
        for item in flow.get("results") or []:
            if "error" in item:
                continue
            if item.get("protocol") == "ICMP":
                total += walls.ping * len(item["results"])
                continue
            total += walls.tcp if item.get("protocol") == "TCP" else walls.udp
            search = item.get("rate_search")
            if search:
                total += walls.udp_probe * len(search["probes"])
    return total


def figures(duration: int = 3, select: tuple[str, ...] = ()) -> list[Row]:
    """select: pytest arguments narrowing the matrix (e.g. -k 1.1), for a quick look."""
    with local_cloud() as (handle, _), tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        doc, wall = vmtp(handle, Path(tmp), {"duration_s": duration}, *select)
    args = doc["args"]
    walls = tool_walls(duration, float(args["udp_probe_s"]), int(args["ping_count"]), float(args["ping_interval_s"]))
    tools = tool_seconds(doc, walls)
    timings = doc["metadata"].get("timings") or {}
    setup, teardown = float(timings.get("setup_s") or 0), float(timings.get("teardown_s") or 0)
    rows_s = sum(float(f.get("duration_s") or 0) for f in doc["flows"])
    ran = sum(1 for f in doc["flows"] if f["status"] != "SKIPPED")
    over = 100 * (wall - tools) / tools
    verdict = "met" if over <= TARGET_PCT else "MISSED"
    return [
        Row(BENCH, f"full matrix ({ran} rows, --vmtp-time {duration}): wall time", f"{wall:.1f} s", "", wall, "s"),
        Row(BENCH, "the tools' own run time in it (each run as long as by hand)", f"{tools:.1f} s", "", tools, "s"),
        Row(BENCH, f"  by hand: nuttcp TCP -T{duration} / UDP -T{duration} / UDP probe, ping one size",
            f"{walls.tcp:.2f} / {walls.udp:.2f} / {walls.udp_probe:.2f} / {walls.ping:.2f} s", "", walls.udp, "s"),
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
