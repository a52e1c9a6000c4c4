"""The gate's rules: allowed change per metric against a baseline, and absolute SLAs.

Both come from the `gate:` and `sla:` sections of defaults.yaml and the --vmtp-config file:

    gate:
      thresholds: {tp_kbps: -10%, rtt_avg_ms: +25%, loss_rate: +2}   # merged over the defaults
      rules:                       # later entries win; select rows by id glob and/or marker
        - {rows: "2.*", tp_kbps: -20%}
        - {marker: inter_node, rtt_avg_ms: +50%}
    sla:
      - "tp_kbps >= 5G"            # every row
      - {marker: udp, check: "loss_rate <= 2"}
      - {rows: "[1-6].3", check: "rtt_avg_ms < 1.0"}

A threshold is relative ("-10%", "+25%") or absolute in the metric's unit ("+2": loss points).
Mistakes raise RuleError naming the file and line. Pure but for reading the YAML text.
"""

from __future__ import annotations

import fnmatch
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from pytest_vmtp.gate.figures import BETTER
from pytest_vmtp.user_error import UserError


class RuleError(UserError):
    """A bad gate or SLA rule; str() says where and what to write instead."""


@dataclass(frozen=True)
class Threshold:
    """The worst allowed change: relative (0.10 = 10 %) or absolute (in the metric's unit)."""

    amount: float
    relative: bool

    def text(self, metric: str) -> str:
        sign = "-" if BETTER[metric] > 0 else "+"
        if self.relative:
            return f"{sign}{self.amount * 100:g} %"
        return f"{sign}{self.amount:g}" + (" points" if metric == "loss_rate" else "")


@dataclass(frozen=True)
class Selector:
    rows: str | None = None  # fnmatch glob on the scenario id, e.g. "2.*"
    markers: tuple[str, ...] = ()  # any of them

    def matches(self, scenario: str, markers: Iterable[str]) -> bool:
        if self.rows is not None and not fnmatch.fnmatchcase(scenario, self.rows):
            return False
        return not self.markers or bool(set(self.markers) & set(markers))


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
}
_CHECK = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|==|>|<)\s*([0-9]*\.?[0-9]+)\s*([kKmMgG%]?)\s*$")
_RATE = {"": 1.0, "k": 1.0, "m": 1e3, "g": 1e6}  # *_kbps: plain numbers and K are kbit/s


@dataclass(frozen=True)
class Sla:
    metric: str
    op: str
    bound: float
    text: str
    where: Selector
    origin: str  # "file:line", for messages

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.bound)


@dataclass(frozen=True)
class RowRule:
    where: Selector
    thresholds: dict[str, Threshold | None]


@dataclass(frozen=True)
class GateRules:
    thresholds: dict[str, Threshold | None]
    rules: tuple[RowRule, ...] = ()
    slas: tuple[Sla, ...] = ()
    noise_floor: dict[str, float] = field(default_factory=dict)  # metric: smallest change that counts

    def thresholds_for(self, scenario: str, markers: Iterable[str]) -> dict[str, Threshold | None]:
        """Per metric, the threshold for this row (None: not gated)."""
        marks = tuple(markers)
        out = dict(self.thresholds)
        for rule in self.rules:
            if rule.where.matches(scenario, marks):
                out.update(rule.thresholds)
        return out

    def slas_for(self, scenario: str, markers: Iterable[str]) -> list[Sla]:
        marks = tuple(markers)
        return [s for s in self.slas if s.where.matches(scenario, marks)]


@dataclass
class _Source:
    """Where rules came from: the file name and the line of each list entry or key."""

    name: str
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def at(self, *path: Any) -> str:
        for n in range(len(path), 0, -1):
            if path[:n] in self.lines:
                return f"{self.name}:{self.lines[path[:n]]}"
        return self.name


def _index_lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _index_lines(value, (*path, key.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            _index_lines(value, (*path, i), lines)


def source_of(name: str, text: str | None) -> _Source:
    src = _Source(name)
    if text:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return src  # the config loader reports bad YAML itself
        if node is not None:
            _index_lines(node, (), src.lines)
    return src


_THRESHOLD = re.compile(r"^\s*([+-]?)\s*([0-9]*\.?[0-9]+)\s*(%?)\s*$")


def parse_threshold(metric: str, value: Any, where: str) -> Threshold | None:
    if metric not in BETTER:
        raise RuleError(f"{where}: unknown metric {metric!r}: use one of {', '.join(sorted(BETTER))}")
    if value is None or value is False:
        return None
    m = _THRESHOLD.match(str(value))
    if not m:
        raise RuleError(f"{where}: {metric}: {value!r} is not a threshold: write e.g. -10% (relative) "
                        "or +2 (absolute, in the metric's unit)")
    sign, number, pct = m.groups()
    worse = "-" if BETTER[metric] > 0 else "+"
    if sign and sign != worse:
        raise RuleError(f"{where}: {metric}: {value!r} points the wrong way: {metric} gets worse as it "
                        f"{'falls' if worse == '-' else 'rises'}, so write {worse}{number}{pct}")
    amount = float(number)
    return Threshold(amount / 100 if pct else amount, bool(pct))


def _selector(entry: dict[str, Any], where: str) -> Selector:
    rows = entry.get("rows")
    marker = entry.get("marker", entry.get("markers"))
    if rows is not None and not isinstance(rows, str | int | float):
        raise RuleError(f"{where}: rows: give one id pattern such as '2.*'")
    markers = (marker,) if isinstance(marker, str) else tuple(marker or ())
    if not all(isinstance(m, str) and m for m in markers):
        raise RuleError(f"{where}: marker: give a marker name such as inter_node (or a list of names)")
    from pytest_vmtp import catalogue  # the row ids and markers a selector can name

    unknown = [m for m in markers if m not in catalogue.MARKERS]
    if unknown:
        raise RuleError(f"{where}: marker: unknown marker {unknown[0]!r}: use one of {', '.join(catalogue.MARKERS)}")
    if rows is not None and not any(fnmatch.fnmatchcase(s.id, str(rows)) for s in catalogue.catalogue(multicast=True)):
        raise RuleError(f"{where}: rows: {str(rows)!r} matches no VMTP row (1.1 ... 8.2): give an id pattern "
                        "such as '2.*' or '[1-6].3'")
    return Selector(str(rows) if rows is not None else None, markers)


def parse_check(text: str, where: str) -> tuple[str, str, float]:
    m = _CHECK.match(text)
    if not m:
        raise RuleError(f"{where}: SLA {text!r}: write '<metric> <op> <value>', op one of >=, >, <=, <, ==, "
                        "e.g. 'tp_kbps >= 5G' or 'loss_rate <= 2'")
    metric, op, number, unit = m.groups()
    if metric not in BETTER:
        raise RuleError(f"{where}: SLA {text!r}: unknown metric {metric!r}: use one of {', '.join(sorted(BETTER))}")
    value = float(number)
    if unit:
        if not metric.endswith("_kbps") or unit == "%":
            raise RuleError(f"{where}: SLA {text!r}: only tp_kbps and pair_min_kbps take a K, M or G suffix")
        value *= _RATE[unit.lower()]
    return metric, op, value


def build(gate: Any, sla: Any, source_name: str = "defaults.yaml", text: str | None = None,
          defaults: dict[str, Any] | None = None, floor_defaults: dict[str, Any] | None = None) -> GateRules:
    """GateRules from the merged `gate:` and `sla:` values. defaults: the defaults.yaml
    thresholds, under which the file's thresholds are merged. text: the config file's YAML,
    for line numbers in messages."""
    src = source_of(source_name, text)
    gate = gate or {}
    if not isinstance(gate, dict):
        raise RuleError(f"{src.at('gate')}: gate: expected a mapping with thresholds and rules")
    unknown = sorted(set(gate) - {"thresholds", "rules", "noise_floor"})
    if unknown:
        raise RuleError(f"{src.at('gate', unknown[0])}: gate: unknown key {unknown[0]!r}: "
                        "use thresholds, rules, noise_floor")
    floors = dict(floor_defaults or {})
    floors.update(gate.get("noise_floor") or {})
    noise_floor = {str(m): _floor(str(m), v, src.at("gate", "noise_floor", m)) for m, v in floors.items()}
    merged = dict(defaults or {})
    merged.update(gate.get("thresholds") or {})
    thresholds = {m: parse_threshold(str(m), v, src.at("gate", "thresholds", m)) for m, v in merged.items()}
    rules = []
    for i, entry in enumerate(gate.get("rules") or []):
        where = src.at("gate", "rules", i)
        if not isinstance(entry, dict):
            raise RuleError(f"{where}: a gate rule is a mapping such as {{rows: '2.*', tp_kbps: -20%}}")
        sel = _selector(entry, where)
        limits = {str(k): parse_threshold(str(k), v, src.at("gate", "rules", i, k))
                  for k, v in entry.items() if k not in ("rows", "marker", "markers")}
        rules.append(RowRule(sel, limits))
    slas = []
    if sla is not None and not isinstance(sla, list):
        raise RuleError(f"{src.at('sla')}: sla: expected a list of checks such as 'tp_kbps >= 5G'")
    for i, entry in enumerate(sla or []):
        where = src.at("sla", i)
        if isinstance(entry, str):
            entry = {"check": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("check"), str):
            raise RuleError(f"{where}: an SLA is a check such as 'tp_kbps >= 5G', or a mapping with "
                            "check: and rows: or marker:")
        metric, op, bound = parse_check(entry["check"], where)
        slas.append(Sla(metric, op, bound, entry["check"].strip(), _selector(entry, where), where))
    return GateRules(thresholds, tuple(rules), tuple(slas), noise_floor)


def _floor(metric: str, value: Any, where: str) -> float:
    if metric not in BETTER:
        raise RuleError(f"{where}: noise_floor: unknown metric {metric!r}: use one of {', '.join(sorted(BETTER))}")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RuleError(f"{where}: noise_floor: {metric}: expected a number >= 0 in the metric's unit, "
                        f"not {value!r}")
    return float(value)
