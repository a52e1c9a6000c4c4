"""Pure parser of `iperf3 --json` client output (TCP and UDP)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .errors import MeasureError, one_line


@dataclass(frozen=True)
class Iperf3Report:
    throughput_kbps: int
    retrans: int | None = None
    rtt_ms: float | None = None
    loss_rate: float | None = None
    jitter_ms: float | None = None
    cpu_tx: float | None = None
    cpu_rx: float | None = None


def _load(text: str) -> dict[str, Any]:
    start = text.find("{")
    try:
        data = json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise MeasureError(f"iperf3: {one_line(text) or 'no output'}")
    if data.get("error"):
        raise MeasureError(f"iperf3: {data['error']}")
    return data


def parse_iperf3_json(text: str, reverse: bool = False) -> Iperf3Report:
    """reverse: the run used -R, so this client was the receiver (for the CPU split)."""
    end = _load(text).get("end") or {}
    cpu = end.get("cpu_utilization_percent") or {}
    local, remote = cpu.get("host_total"), cpu.get("remote_total")
    cpu_tx, cpu_rx = (remote, local) if reverse else (local, remote)
    if "sum" in end and "jitter_ms" in end["sum"]:  # UDP
        udp = end["sum"]
        packets, lost = udp.get("packets") or 0, max(0, udp.get("lost_packets") or 0)
        delivered = (packets - lost) / packets if packets else 0.0
        return Iperf3Report(
            throughput_kbps=round(udp["bits_per_second"] * delivered / 1000),
            loss_rate=min(100.0, lost * 100.0 / packets) if packets else None,
            jitter_ms=udp.get("jitter_ms"), cpu_tx=cpu_tx, cpu_rx=cpu_rx,
        )
    received, sent = end.get("sum_received"), end.get("sum_sent")
    if not received:
        raise MeasureError("iperf3: no end summary in its JSON output")
    rtts = [s["sender"]["mean_rtt"] for s in end.get("streams", [])
            if s.get("sender", {}).get("mean_rtt")]
    return Iperf3Report(
        throughput_kbps=round(received["bits_per_second"] / 1000),
        retrans=(sent or {}).get("retransmits"),
        rtt_ms=(sum(rtts) / len(rtts) / 1000.0) if rtts else None,  # mean_rtt is in us
        cpu_tx=cpu_tx, cpu_rx=cpu_rx,
    )


def parse_iperf3_version(text: str) -> str:
    """`iperf3 --version` prints e.g. "iperf 3.12 (cJSON 1.7.15)"."""
    match = re.search(r"iperf\s+(3\.\d+(?:\.\d+)?)", text)
    if not match:
        raise MeasureError(f"iperf3 --version: unexpected output: {one_line(text)}")
    return f"iperf3-{match.group(1)}"
