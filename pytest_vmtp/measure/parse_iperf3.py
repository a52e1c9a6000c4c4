"""Pure parser of `iperf3 --json` client output (TCP and UDP).

Throughput and loss are the receiver's figures in both directions (with -R the client is
the receiver): `end.sum_received` (iperf3 3.11+). `end.sum` is the sender's rate, which is
not what arrived; before 3.11 it is all there is for UDP, and what arrived is computed from
it and the receiver's count of lost datagrams.
"""

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
    rx_bytes: int | None = None  # UDP: bytes that reached the receiver


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
        return _udp(end, cpu_tx, cpu_rx)
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


def _udp(end: dict[str, Any], cpu_tx: float | None, cpu_rx: float | None) -> Iperf3Report:
    sent = (end.get("sum_sent") or end["sum"]).get("packets") or 0
    received = end.get("sum_received")
    if received is not None:  # iperf3 3.11+: the receiver's own summary
        rx_bytes = int(received.get("bytes") or 0)
        kbps = round((received.get("bits_per_second") or 0) / 1000)
        loss = received.get("lost_percent")
        jitter = received.get("jitter_ms")
    else:  # older: end.sum has the sender's bytes and rate with the receiver's loss count
        udp = end["sum"]
        lost = max(0, udp.get("lost_packets") or 0)
        arrived = (sent - lost) / sent if sent else 0.0
        rx_bytes = round((udp.get("bytes") or 0) * arrived)
        kbps = round((udp.get("bits_per_second") or 0) * arrived / 1000)
        loss = lost * 100.0 / sent if sent and "lost_packets" in udp else None
        jitter = udp.get("jitter_ms")
    if rx_bytes == 0:  # nothing arrived: the receiver counts no loss then, the sender's count does
        loss = 100.0 if sent else None
    return Iperf3Report(
        throughput_kbps=kbps,
        loss_rate=min(100.0, max(0.0, float(loss))) if loss is not None else None,
        jitter_ms=jitter, cpu_tx=cpu_tx, cpu_rx=cpu_rx, rx_bytes=rx_bytes,
    )


def parse_iperf3_version(text: str) -> str:
    """`iperf3 --version` prints e.g. "iperf 3.12 (cJSON 1.7.15)"."""
    match = re.search(r"iperf\s+(3\.\d+(?:\.\d+)?)", text)
    if not match:
        raise MeasureError(f"iperf3 --version: unexpected output: {one_line(text)}")
    return f"iperf3-{match.group(1)}"
