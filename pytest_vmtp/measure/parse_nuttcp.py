"""Pure parser of nuttcp's `-fparse` output (key=value pairs on the final line).

TCP lines carry retrans/rtt_ms, UDP lines drop/pkt/data_loss; nuttcp 7+ adds jitter keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import MeasureError, one_line


@dataclass(frozen=True)
class NuttcpReport:
    megabytes: float
    real_seconds: float
    rate_mbps: float
    tx_cpu: float | None = None
    rx_cpu: float | None = None
    retrans: int | None = None
    rtt_ms: float | None = None
    drop: int | None = None
    pkt: int | None = None
    jitter_ms: float | None = None  # msavgjitter, nuttcp 7+ with -j

    @property
    def throughput_kbps(self) -> int:
        return round(self.rate_mbps * 1000)

    @property
    def loss_rate(self) -> float | None:
        """Percent of datagrams lost; nuttcp's drop can be negative (reordering): clamp."""
        if self.drop is None or not self.pkt:
            return None
        return min(100.0, max(0.0, self.drop * 100.0 / self.pkt))


_PAIR = re.compile(r"(\w+)=(-?[0-9.]+)")


def nuttcp_error_text(text: str) -> str:
    """The part of nuttcp's output that says what went wrong."""
    if text.lstrip().startswith("Usage:"):
        return "nuttcp rejected its command line (printed its usage text)"
    errors = [line.strip() for line in text.splitlines() if "Error" in line or "error" in line]
    return one_line("\n".join(errors) if errors else text) or "no output"


def parse_nuttcp_fparse(text: str) -> NuttcpReport:
    lines = [line for line in text.splitlines() if "rate_Mbps=" in line]
    if not lines:
        raise MeasureError(f"nuttcp: {nuttcp_error_text(text)}")
    values = dict(_PAIR.findall(lines[-1]))

    def num(key: str) -> float | None:
        return float(values[key]) if key in values else None

    def integer(key: str) -> int | None:
        return int(float(values[key])) if key in values else None

    return NuttcpReport(
        megabytes=float(values.get("megabytes", 0.0)),
        real_seconds=float(values.get("real_seconds", 0.0)),
        rate_mbps=float(values["rate_Mbps"]),
        tx_cpu=num("tx_cpu"),
        rx_cpu=num("rx_cpu"),
        retrans=integer("retrans"),
        rtt_ms=num("rtt_ms"),
        drop=integer("drop"),
        pkt=integer("pkt"),
        jitter_ms=num("msavgjitter"),
    )


def parse_nuttcp_version(text: str) -> str:
    """`nuttcp -V` prints e.g. "nuttcp-6.1.2"; returns it as the result's tool name."""
    match = re.search(r"nuttcp-v?(\d+(?:\.\d+)+)", text)
    if not match:
        raise MeasureError(f"nuttcp -V: unexpected output: {one_line(text)}")
    return f"nuttcp-{match.group(1)}"
