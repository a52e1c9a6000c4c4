"""Pure parser of `ping -q` summaries (iputils and busybox)."""

from __future__ import annotations

import re

from ..results import PingSizeResult
from .errors import MeasureError, one_line

_COUNTS = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_RTT = re.compile(r"(?:rtt|round-trip) min/avg/max(?:/(?:mdev|stddev))? = "
                  r"([\d.]+)/([\d.]+)/([\d.]+)(?:/([\d.]+))?")


def parse_ping(text: str, packet_size: int) -> PingSizeResult:
    """Counts and rtt of one ping run; with no reply the rtt fields are None."""
    counts = _COUNTS.search(text)
    if not counts:
        raise MeasureError(f"ping: {one_line(text) or 'no output'}")
    rtt = _RTT.search(text)
    values = [float(v) if v is not None else None for v in rtt.groups()] if rtt else [None] * 4
    return PingSizeResult(
        packet_size=packet_size,
        tx_packets=int(counts.group(1)),
        rx_packets=int(counts.group(2)),
        rtt_min_ms=values[0], rtt_avg_ms=values[1], rtt_max_ms=values[2], rtt_stddev=values[3],
    )
