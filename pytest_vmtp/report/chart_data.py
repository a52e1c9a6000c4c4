"""What the column charts show, from results documents: pure data, no charting library.

Read through gate.figures (document_figures), so that the charts, the gate and the history
read a results document the same way. Four charts, as VMTP's genchart grouped its columns, one
series (colour) per run so that a before/after pair reads at a glance:

- TCP throughput per row (Gbit/s; whiskers: the slowest and fastest of the TCP runs);
- UDP throughput per row and packet size (Mbit/s), and UDP loss per row and packet size (%);
- ICMP round-trip time per row and packet size (ms; whiskers: min and max).

The rows are the measured ones, as the gate reads them (figures.measured): a row the gate failed
is charted (its throughput is the bar to look at), a functional failure's partial figures are not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pytest_vmtp.catalogue import catalogue
from pytest_vmtp.gate.figures import Figure, document_figures, measured


@dataclass(frozen=True)
class Bar:
    category: str  # the x axis label: "2.1", "2.2 · 1024 B"
    value: float  # in the chart's unit
    low: float | None = None  # whisker ends, when the figure has a range
    high: float | None = None
    hover: str = ""  # the row's name


@dataclass
class Series:
    label: str  # the run: "1a2b3c4 2025-03-01 12:00"
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Chart:
    key: str  # "tcp" | "udp" | "loss" | "icmp": also the HTML element id's suffix
    title: str
    axis: str  # the y axis title, with its unit
    categories: list[str]  # x order, shared by every series
    series: list[Series]

    @property
    def bar_count(self) -> int:
        return sum(len(s.bars) for s in self.series)


@dataclass(frozen=True)
class Run:
    """One results document and how its series is named."""

    label: str
    doc: dict[str, Any]


@dataclass(frozen=True)
class _Spec:
    key: str
    title: str
    axis: str
    protocols: tuple[str, ...]
    metric: str
    scale: float  # figure value / scale = chart value
    sized: bool  # the packet size is always part of the category
    whiskers: tuple[str, str] | None = None  # metrics of the low and high ends (same what)


SPECS = (
    _Spec("tcp", "TCP throughput per row", "throughput (Gbit/s)", ("tcp",), "tp_kbps", 1e6, sized=False),
    _Spec("udp", "UDP throughput per packet size", "throughput (Mbit/s)", ("udp", "multicast"), "tp_kbps", 1e3,
          sized=True),
    _Spec("loss", "UDP loss per packet size", "loss (%)", ("udp", "multicast"), "loss_rate", 1.0, sized=True),
    _Spec("icmp", "ICMP round-trip time per packet size", "RTT average (ms), whiskers min-max", ("icmp",),
          "rtt_avg_ms", 1.0, sized=True, whiskers=("rtt_min_ms", "rtt_max_ms")),
)


@dataclass(frozen=True)
class _What:
    reverse: bool
    protocol: str
    size: str | None
    pairs: int = 1  # scale mode: 'tcp 65536 x8'

    @classmethod
    def parse(cls, what: str) -> _What:
        """'reverse udp 1024 x8' -> (True, 'udp', '1024', 8), the inverse of figures._what."""
        words = what.split()
        reverse = bool(words) and words[0] == "reverse"
        words = words[1:] if reverse else words
        pairs = 1
        if len(words) > 1 and words[-1][:1] == "x" and words[-1][1:].isdigit():
            pairs = int(words[-1][1:])
            words = words[:-1]
        return cls(reverse, words[0] if words else "", words[1] if len(words) > 1 else None, pairs)


def _largest_step(figures: list[Figure]) -> list[Figure]:
    """Per row, only the figures of its largest pair count: a progression's column is its
    last step (the scale chart shows the others)."""
    largest: dict[str, int] = defaultdict(int)
    for f in figures:
        largest[f.scenario] = max(largest[f.scenario], _What.parse(f.what).pairs)
    return [f for f in figures if _What.parse(f.what).pairs == largest[f.scenario]]


def row_names() -> dict[str, str]:
    """Row id -> VMTP's row title, for every row including multicast ones."""
    return {s.id: s.name for s in catalogue(multicast=True)}


def _row_key(sid: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in sid.split("."))
    except ValueError:
        return (10**6,)


def unique_labels(labels: Iterable[str]) -> list[str]:
    """The same run given twice still gets two series: 'a', 'a (2)'."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for label in labels:
        seen[label] += 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def run_label(doc: dict[str, Any]) -> str:
    """'1a2b3c4 2025-03-01 12:00': run id and date (to the minute) of a document."""
    date = str(doc.get("date") or "")[:16]
    return " ".join(p for p in (str(doc.get("run_id") or "?"), date) if p)


def _category(sid: str, what: _What, sized: bool, whats_of_row: set[str]) -> str:
    """'2.1' for a row's one TCP figure; '2.2 · 1024 B', '8.2 · reverse 1024 B' per size;
    '2.1 · tcp 1460 B' when a row has several TCP sizes."""
    if not sized and len(whats_of_row) == 1:
        return sid
    words = (["reverse"] if what.reverse else []) + ([] if sized else [what.protocol]) + \
        ([f"{what.size} B"] if what.size else [])
    return f"{sid} · {' '.join(words)}" if words else sid


def _sort_key(sid: str, what: _What) -> tuple[Any, ...]:
    return _row_key(sid), what.reverse, int(what.size) if what.size and what.size.isdigit() else 0


def charts(runs: list[Run]) -> list[Chart]:
    """The charts that have at least one bar, in SPECS order."""
    names = row_names()
    per_run = [_largest_step(document_figures(r.doc, searched_loss=True)) for r in runs]
    for run in runs:  # rows the catalogue does not know keep the document's own title
        for flow in run.doc.get("flows") or []:
            names.setdefault(str(flow.get("scenario")), str(flow.get("name") or flow.get("desc") or ""))
    out = []
    for spec in SPECS:
        chart = _chart(spec, per_run, [r.label for r in runs], names)
        if chart.bar_count:
            out.append(chart)
    return out


def _chart(spec: _Spec, per_run: list[list[Figure]], labels: list[str], names: dict[str, str]) -> Chart:
    def wanted(f: Figure) -> bool:
        return _What.parse(f.what).protocol in spec.protocols

    whats: dict[str, set[str]] = defaultdict(set)
    for figures in per_run:
        for f in figures:
            if wanted(f) and f.metric == spec.metric:
                whats[f.scenario].add(f.what)
    order: dict[str, tuple[Any, ...]] = {}
    series = []
    for label, figures in zip(unique_labels(labels), per_run, strict=True):
        index = {f.key: f for f in figures}
        bars = []
        for f in figures:
            if not wanted(f) or f.metric != spec.metric:
                continue
            what = _What.parse(f.what)
            cat = _category(f.scenario, what, spec.sized, whats[f.scenario])
            order.setdefault(cat, _sort_key(f.scenario, what))
            low, high = _range(f, index, spec)
            bars.append(Bar(cat, f.value / spec.scale, low, high, names.get(f.scenario, "")))
        series.append(Series(label, sorted(bars, key=lambda b: order[b.category])))
    categories = sorted(order, key=lambda c: order[c])
    return Chart(spec.key, spec.title, spec.axis, categories, series)


def _range(f: Figure, index: dict[tuple[str, str, str], Figure], spec: _Spec) -> tuple[float | None, float | None]:
    if spec.whiskers:
        lo, hi = (index.get((f.scenario, f.what, m)) for m in spec.whiskers)
        if lo is None or hi is None:
            return None, None
        return lo.value / spec.scale, hi.value / spec.scale
    if len(f.samples) > 1:
        return min(f.samples) / spec.scale, max(f.samples) / spec.scale
    return None, None


# --- scale mode: throughput by pair count -----------------------------------------------------

@dataclass(frozen=True)
class Point:
    pairs: int
    value: float  # in the chart's unit
    low: float | None = None  # whisker ends: the slowest and fastest pair
    high: float | None = None


@dataclass
class Line:
    label: str  # "2.1 all pairs", "2.1 each pair (median, min-max)"
    points: list[Point]
    per_pair: bool  # drawn dashed, with whiskers


@dataclass
class ScaleChart:
    key: str  # "scale-tcp", "scale-udp": the HTML element id's suffix
    title: str
    axis: str
    lines: list[Line]

    @property
    def point_count(self) -> int:
        return sum(len(line.points) for line in self.lines)


_SCALE_UNITS = {"TCP": ("Gbit/s", 1e6), "UDP": ("Mbit/s", 1e3)}


def scale_charts(doc: dict[str, Any]) -> list[ScaleChart]:
    """One chart per protocol of the rows a progression ran (two pair counts or more): the
    pairs' throughput together, and each pair's (median, whiskers: slowest and fastest), by
    pair count (means over TCP runs)."""
    lines: dict[str, list[Line]] = defaultdict(list)
    for flow in doc.get("flows") or []:
        if not measured(flow) or len((flow.get("scale") or {}).get("steps") or []) < 2:
            continue
        groups: dict[tuple[str, str, Any, Any], dict[int, list[dict[str, Any]]]] = \
            defaultdict(lambda: defaultdict(list))
        for item in flow.get("results") or []:
            if isinstance(item, dict) and item.get("pairs") is not None and item.get("distribution"):
                key = (str(item.get("protocol")), "reverse" if item.get("direction") else "", item.get("pkt_size"),
                       flow.get("scenario"))
                groups[key][int(item["pairs"])].append(item)
        for (proto, reverse, size, sid), steps in groups.items():
            if proto not in _SCALE_UNITS:
                continue
            scale = _SCALE_UNITS[proto][1]
            name = " ".join(str(p) for p in (sid, reverse, f"{size} B" if proto == "UDP" and size else "") if p)

            def avg(items: list[dict[str, Any]], key: str, scale: float = scale) -> float:
                return sum(float(i["distribution"][key] if key != "throughput_kbps" else i[key])
                           for i in items) / len(items) / scale

            counts = sorted(steps)
            lines[proto].append(Line(f"{name} all pairs", [Point(n, avg(steps[n], "throughput_kbps")) for n in counts],
                                     per_pair=False))
            lines[proto].append(Line(f"{name} each pair (median, min-max)", [
                Point(n, avg(steps[n], "median_kbps"), avg(steps[n], "min_kbps"), avg(steps[n], "max_kbps"))
                for n in counts], per_pair=True))
    return [ScaleChart(f"scale-{proto.lower()}", f"{proto} throughput by pair count",
                       f"throughput ({_SCALE_UNITS[proto][0]})", found)
            for proto, found in sorted(lines.items())]
