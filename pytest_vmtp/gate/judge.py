"""The gate's verdict on one row: its figures against the baseline's and against the SLAs.

One module decides pass or regress, for the in-run gate and for `vmtp-compare` alike.

The noise rule: a change counts only when it is past the metric's threshold AND outside the
run-to-run spread. With several samples on both sides (the TCP runs; several baseline runs
pooled), every run now must be worse than every baseline run (the two ranges do not overlap,
which for 3 runs against 3 is the one-sided rank test at p = 0.05). A ping average carries its
own noise (stddev / sqrt(replies)): the change must exceed twice the combined standard error.
A single sample on either side (one UDP run) is judged on the threshold alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from math import sqrt
from typing import Any

from pytest_vmtp.gate.figures import BETTER, Figure
from pytest_vmtp.gate.rules import GateRules, Sla, Threshold

OK, REGRESSED, SLA_FAILED, NO_BASELINE, NOT_JUDGED = "ok", "regressed", "sla failed", "no baseline", "not judged"


def human(metric: str, value: float) -> str:
    """A figure as an operator reads it: 9.81 Gbit/s, 0.213 ms, 1.2 %."""
    if metric.endswith("_kbps"):
        for unit, scale in (("Gbit/s", 1e6), ("Mbit/s", 1e3)):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {unit}"
        return f"{value:.3g} kbit/s"
    if metric == "loss_rate":
        return f"{value:.3g} %"
    if metric == "retrans":
        return f"{value:g}"
    if metric == "jain_index":
        return f"{value:.3f}"
    return f"{value:.3g} ms"


@dataclass
class Check:
    figure: str  # "tcp 65536 tp_kbps"
    metric: str
    kind: str  # "baseline" | "sla"
    passed: bool
    now: float
    allowed: str  # "-10 %", or the SLA's text
    baseline: float | None = None
    change: float | None = None  # relative (0.1 = +10 %) or, for absolute thresholds, the difference
    relative: bool = True
    note: str = ""  # why a past-threshold change still passed, or "improved"

    @property
    def change_text(self) -> str:
        if self.change is None:
            return ""
        if self.relative:
            return f"{self.change * 100:+.1f} %"
        return f"{self.change:+.3g}" + (" points" if self.metric == "loss_rate" else "")

    def short(self) -> str:
        """e.g. 'udp 1024 loss_rate +6.2 points (allowed +2 points)', for the table's Gate column."""
        if self.kind == "sla":
            return f"{self.figure} {human(self.metric, self.now)} (SLA {self.allowed})"
        return f"{self.figure} {self.change_text}" + ("" if self.passed else f" (allowed {self.allowed})")

    def line(self) -> str:
        """e.g. 'tcp 65536 tp_kbps 9.81 Gbit/s -> 6.02 Gbit/s (-38.6 %, allowed -10 %)'."""
        if self.kind == "sla":
            return f"{self.figure} {human(self.metric, self.now)} breaks SLA {self.allowed}"
        assert self.baseline is not None
        return (f"{self.figure} {human(self.metric, self.baseline)} -> {human(self.metric, self.now)} "
                f"({self.change_text}, allowed {self.allowed})")


@dataclass
class Verdict:
    scenario: str
    status: str
    checks: list[Check] = field(default_factory=list)
    baseline_label: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in (REGRESSED, SLA_FAILED)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def reason(self) -> str:
        """The one line a failed row shows: every failing check."""
        lines = [c.line() for c in self.failures()]
        prefix = "SLA: " if self.status == SLA_FAILED else "regression: "
        return prefix + "; ".join(lines)

    def cell(self) -> str:
        """The summary table's Gate column: the verdict and the change that decided it."""
        shown = self.failures()[:2] or self._headline()
        label = self.status.upper() if self.failed else self.status
        return f"{label}: {'; '.join(c.short() for c in shown)}" if shown else label

    def _headline(self) -> list[Check]:
        judged = [c for c in self.checks if c.kind == "baseline" and c.change is not None]
        if not judged:
            return []
        return [min(judged, key=lambda c: (c.change or 0.0) * BETTER[c.metric])]

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.status, "baseline": self.baseline_label,
                "checks": [asdict(c) for c in self.checks]}

    @classmethod
    def from_json(cls, data: dict[str, Any], scenario: str = "") -> Verdict:
        return cls(scenario, data["verdict"], [Check(**c) for c in data.get("checks") or []], data.get("baseline"))


def _outside_noise(now: Figure, base: Figure) -> bool:
    better = BETTER[now.metric]
    if len(now.samples) >= 2 and len(base.samples) >= 2:
        if better > 0:
            return max(now.samples) < min(base.samples)
        return min(now.samples) > max(base.samples)
    if now.spread or base.spread:
        return abs(now.value - base.value) > 2 * sqrt(now.spread ** 2 + base.spread ** 2)
    return True


def compare(now: Figure, base: Figure, threshold: Threshold, floor: float = 0.0) -> Check:
    """floor: an absolute change this small is noise whatever its percentage (a ping of 50 us
    that becomes 80 us is +60 %, and a scheduler's hiccup)."""
    better = BETTER[now.metric]
    if threshold.relative:
        change = (now.value - base.value) / base.value if base.value else 0.0
    else:
        change = now.value - base.value
    worse = change * better < 0
    past = abs(change) > threshold.amount
    check = Check(f"{now.what} {now.metric}", now.metric, "baseline", True, now.value, threshold.text(now.metric),
                  base.value, change, threshold.relative)
    if past and worse:
        if abs(now.value - base.value) <= floor:
            check.note = f"inside the noise floor ({human(now.metric, floor)})"
        elif _outside_noise(now, base):
            check.passed = False
        else:
            check.note = "inside the run-to-run spread"
    elif past:
        check.note = "improved"
    return check


def _sla_checks(figures: Iterable[Figure], slas: Iterable[Sla]) -> list[Check]:
    checks = []
    for sla in slas:
        for f in figures:
            if f.metric == sla.metric:
                checks.append(Check(f"{f.what} {f.metric}", f.metric, "sla", sla.holds(f.value), f.value, sla.text))
    return checks


def judge(scenario: str, markers: Iterable[str], figures: list[Figure],
          baseline: dict[tuple[str, str, str], Figure] | None, rules: GateRules,
          baseline_label: str | None = None) -> Verdict:
    """The row's verdict. baseline None: SLAs only; a baseline without this row: 'no baseline'."""
    marks = tuple(markers)
    checks: list[Check] = []
    had_baseline = False
    if baseline is not None:
        limits = rules.thresholds_for(scenario, marks)
        for f in figures:
            threshold = limits.get(f.metric)
            base = baseline.get(f.key)
            if base is None:
                continue
            had_baseline = True
            if threshold is not None:
                checks.append(compare(f, base, threshold, rules.noise_floor.get(f.metric, 0.0)))
    checks.extend(_sla_checks(figures, rules.slas_for(scenario, marks)))
    if any(not c.passed and c.kind == "sla" for c in checks):
        status = SLA_FAILED
    elif any(not c.passed for c in checks):
        status = REGRESSED
    elif baseline is not None and not had_baseline:
        status = NO_BASELINE
    elif not checks:
        status = NOT_JUDGED
    else:
        status = OK
    return Verdict(scenario, status, checks, baseline_label)
