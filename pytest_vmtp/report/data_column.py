"""The 'Data' column of VMTP's summary table, derived from a flow's JSON results."""

from __future__ import annotations

from statistics import mean
from typing import Any


def _fmt(v: float | None, digits: int = 3) -> str | None:
    return None if v is None else f"{v:.{digits}f}".rstrip("0").rstrip(".")


def data_for(protocol: str, results: list[dict[str, Any]]) -> dict:
    """VMTP's compact view: TCP {'tp_kbps','rtt_ms'}; UDP {size: {...}}; ICMP rtt stats."""
    if protocol == "icmp":
        sizes = [r for item in results if item.get("protocol") == "ICMP"
                 for r in item.get("results", []) if r.get("rtt_avg_ms") is not None]
        if not sizes:
            return {}
        return {
            "rtt_avg_ms": _fmt(mean(r["rtt_avg_ms"] for r in sizes)),
            "rtt_min_ms": _fmt(min(r["rtt_min_ms"] for r in sizes)),
            "rtt_max_ms": _fmt(max(r["rtt_max_ms"] for r in sizes)),
            "rtt_stddev": _fmt(mean(r["rtt_stddev"] for r in sizes)),
        }
    items = [r for r in results if "throughput_kbps" in r]
    if protocol == "tcp":
        if not items:
            return {}
        out = {"tp_kbps": str(int(mean(r["throughput_kbps"] for r in items)))}
        rtts = [r["rtt_ms"] for r in items if r.get("rtt_ms") is not None]
        if rtts:
            out["rtt_ms"] = _fmt(mean(rtts), 6)
        return out
    # UDP and multicast: one entry per packet size.
    return {
        r.get("pkt_size"): {"tp_kbps": r["throughput_kbps"], "loss_rate": r.get("loss_rate")}
        for r in items
    }
