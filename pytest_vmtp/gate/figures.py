"""A results document flattened into comparable figures: the one reading of VMTP's JSON that
the gate, the history store and the charts share.

One Figure per (row, what, metric): e.g. row 2.1, "tcp 65536", tp_kbps, with each TCP run as a
sample; row 2.2, "udp 1024", loss_rate; row 2.3, "icmp 64", rtt_avg_ms; a row's companion flow
(7.1's intra-host one) "intra-host tcp 65536". Names follow the
summary table's Data cell (tp_kbps, rtt_ms, loss_rate, rtt_avg_ms ...). Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

# Which way is better, per metric: +1 higher is better, -1 lower is better.
BETTER: dict[str, int] = {
    "tp_kbps": +1, "rtt_ms": -1, "retrans": -1, "loss_rate": -1, "jitter": -1,
    "rtt_avg_ms": -1, "rtt_min_ms": -1, "rtt_max_ms": -1,
    # Scale mode: the slowest pair's throughput, and the fairness between pairs (Jain's index).
    "pair_min_kbps": +1, "jain_index": +1,
}
UNITS: dict[str, str] = {
    "tp_kbps": "kbit/s", "rtt_ms": "ms", "retrans": "", "loss_rate": "%", "jitter": "ms",
    "rtt_avg_ms": "ms", "rtt_min_ms": "ms", "rtt_max_ms": "ms", "pair_min_kbps": "kbit/s", "jain_index": "",
}


@dataclass(frozen=True)
class Figure:
    scenario: str  # "2.1"
    what: str  # "tcp 65536", "reverse udp 1024", "icmp 391"
    metric: str  # a key of BETTER
    samples: tuple[float, ...]  # one per run (TCP runs); one value otherwise
    spread: float = 0.0  # the measurement's own noise when it has one (ping: stddev/sqrt(n))
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def value(self) -> float:
        return mean(self.samples)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.scenario, self.what, self.metric

    @property
    def name(self) -> str:
        """'tcp.65536.tp_kbps': the JUnit property and history column name."""
        return f"{self.what.replace(' ', '.')}.{self.metric}"


def _what(protocol: str, item: dict[str, Any], size_key: str = "pkt_size") -> str:
    """'tcp 65536', 'reverse udp 1024'; scale mode's items add their pair count: 'tcp 65536 x8'
    (eight pairs at once), so that only like is compared with like."""
    parts = ["reverse"] if item.get("direction") == "reverse" else []
    parts.append(protocol.lower())
    if item.get(size_key) is not None:
        parts.append(str(item[size_key]))
    if item.get("pairs") is not None:
        parts.append(f"x{item['pairs']}")
    return " ".join(parts)


def flow_figures(flow: dict[str, Any], searched_loss: bool = False) -> list[Figure]:
    """The figures of one flow (a row) of the document; error items give none. searched_loss:
    also the loss of a searched UDP rate (the charts show it; the gate must not judge it)."""
    sid = str(flow.get("scenario", ""))
    # A companion flow's figures are its own ("intra-host tcp 65536"), never pooled with the row's.
    prefix = f"{flow['companion']} " if flow.get("companion") else ""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    out: list[Figure] = []
    for item in flow.get("results") or []:
        if not isinstance(item, dict) or "error" in item:
            continue
        proto = str(item.get("protocol", ""))
        if proto == "ICMP":
            # VMTP 2.x: one entry per size under "results"; VMTP 1.x: the item itself (strings).
            for size in item.get("results") or [item]:
                if size.get("rtt_avg_ms") is None:
                    continue
                what = prefix + _what("icmp", size, "packet_size")
                n = max(1, int(size.get("rx_packets") or 1))
                sd = float(size.get("rtt_stddev") or 0.0)
                for metric in ("rtt_avg_ms", "rtt_min_ms", "rtt_max_ms"):
                    if size.get(metric) is not None:
                        spread = sd / n ** 0.5 if metric == "rtt_avg_ms" else 0.0
                        out.append(Figure(sid, what, metric, (float(size[metric]),), spread))
            continue
        if "throughput_kbps" not in item:
            continue
        what = prefix + _what(proto, item)
        groups[(what, "tp_kbps")].append(float(item["throughput_kbps"]))
        # With a searched rate, loss is the search's target, not a property of the path.
        searched = item.get("search_rate_kbps") is not None and not searched_loss
        for metric in ("rtt_ms", "retrans", "jitter") + (() if searched else ("loss_rate",)):
            if item.get(metric) is not None:
                groups[(what, metric)].append(float(item[metric]))
        spread = item.get("distribution") or {}
        for metric, key in (("pair_min_kbps", "min_kbps"), ("jain_index", "jain_index")):
            if spread.get(key) is not None:
                groups[(what, metric)].append(float(spread[key]))
    out.extend(Figure(sid, what, metric, tuple(samples)) for (what, metric), samples in groups.items())
    return out


def measured(flow: dict[str, Any]) -> bool:
    """A row whose measurement succeeded: it passed, or only the gate failed it (its figures
    stand). A functional failure's partial figures are neither a baseline nor judged."""
    status = flow.get("status", "PASSED")
    return status == "PASSED" or (status == "FAILED" and (flow.get("gate") or {}).get("verdict") in GATE_FAILED)


GATE_FAILED = ("regressed", "sla failed")


def document_figures(doc: dict[str, Any], statuses: Iterable[str] | None = None,
                     searched_loss: bool = False) -> list[Figure]:
    """Figures of every measured row of the document (or of the rows whose status is one of
    statuses)."""
    wanted = set(statuses) if statuses is not None else None
    return [f for flow in doc.get("flows") or []
            if (measured(flow) if wanted is None else flow.get("status", "PASSED") in wanted)
            for f in flow_figures(flow, searched_loss)]


def by_key(figures: Iterable[Figure]) -> dict[tuple[str, str, str], Figure]:
    return {f.key: f for f in figures}


def merged(figure_sets: Iterable[Iterable[Figure]]) -> Iterator[Figure]:
    """Several runs' figures pooled per key (samples of every run): repeated baselines."""
    pooled: dict[tuple[str, str, str], list[Figure]] = defaultdict(list)
    for figures in figure_sets:
        for f in figures:
            pooled[f.key].append(f)
    for key, figs in pooled.items():
        samples = tuple(s for f in figs for s in f.samples)
        yield Figure(*key, samples=samples, spread=max(f.spread for f in figs))
