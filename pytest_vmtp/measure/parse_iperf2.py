"""Pure parser of iperf 2's `-y C` CSV reports.

TCP: the client's line is enough. UDP: the loss is only known to the receiver, so the
server's CSV line is parsed (iperf 2.1 no longer prints the server report on the client).
Fields: time,src,sport,dst,dport,id,interval,bytes,bits_per_second[,jitter_ms,lost,total,
lost_percent,out_of_order].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import MeasureError, one_line


@dataclass(frozen=True)
class Iperf2Report:
    throughput_kbps: int
    bytes: int = 0
    jitter_ms: float | None = None
    lost: int | None = None
    total: int | None = None
    group: str | None = None  # multicast: the address the server received on (its group)

    @property
    def loss_rate(self) -> float | None:
        if self.lost is None or not self.total or self.total < 0:
            return None
        return min(100.0, max(0.0, self.lost * 100.0 / self.total))


def _rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        fields = line.strip().split(",")
        if len(fields) >= 9 and fields[0].replace(".", "").isdigit():
            rows.append(fields)
    return rows


def parse_iperf2_csv(text: str, stderr: str = "") -> Iperf2Report:
    """The last CSV report in text (the whole-run summary when there are intervals)."""
    rows = _rows(text)
    if not rows:
        raise MeasureError(f"iperf: {one_line(stderr + chr(10) + text) or 'no output'}")
    row = rows[-1]
    kbps, size = round(float(row[8]) / 1000), int(row[7])
    if len(row) >= 12:
        total = int(row[11])
        return Iperf2Report(kbps, size, float(row[9]), int(row[10]), total if total >= 0 else None)
    return Iperf2Report(kbps, size)


def _start(row: list[str]) -> float:
    """Where a report's interval starts ("0.0-1.0" -> 0.0)."""
    try:
        return float(row[6].split("-")[0])
    except (IndexError, ValueError):
        return -1.0


def server_report_done(text: str, intervals: bool = False) -> bool:
    """Has the server written its report of the whole run? With interval reports (-i) that is
    the second report starting at 0 (the first interval starts there too)."""
    rows = _rows(text)
    if not intervals:
        return bool(rows)
    return any(_start(row) == 0.0 for row in rows[1:])


def multicast_report(text: str) -> Iperf2Report:
    """The server's report of one multicast run with interval reports (-i; a server per run):
    the whole run's figures from its summary line, the group from its destination field, and
    as jitter the largest of the interval reports' (iperf's RFC 3550 running estimate at each)."""
    rows = _rows(text)
    end = next((i for i in range(len(rows) - 1, 0, -1) if _start(rows[i]) == 0.0), None)
    if end is None:
        raise MeasureError(f"iperf: no report of the whole multicast run: {one_line(text) or 'no output'}")
    summary = parse_iperf2_csv(",".join(rows[end]))
    jitters = [float(row[9]) for row in rows[:end] if len(row) >= 12]
    jitter = max(jitters) if jitters else summary.jitter_ms
    return Iperf2Report(summary.throughput_kbps, summary.bytes, jitter, summary.lost, summary.total,
                        group=rows[end][3])


def parse_iperf2_version(text: str) -> str:
    """`iperf -v` prints e.g. "iperf version 2.1.8 (12 August 2022) pthreads"."""
    match = re.search(r"iperf version (\d+(?:\.\d+)+)", text)
    if not match:
        raise MeasureError(f"iperf -v: unexpected output: {one_line(text)}")
    return f"iperf-{match.group(1)}"
