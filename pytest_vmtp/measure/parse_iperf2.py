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


def parse_iperf2_version(text: str) -> str:
    """`iperf -v` prints e.g. "iperf version 2.1.8 (12 August 2022) pthreads"."""
    match = re.search(r"iperf version (\d+(?:\.\d+)+)", text)
    if not match:
        raise MeasureError(f"iperf -v: unexpected output: {one_line(text)}")
    return f"iperf-{match.group(1)}"
