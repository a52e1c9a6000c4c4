"""The gate of one pytest run: its rules and its baseline, loaded once per process at start."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pytest_vmtp.gate import documents
from pytest_vmtp.gate.figures import Figure, by_key, document_figures, flow_figures, measured, merged
from pytest_vmtp.gate.judge import Verdict, judge
from pytest_vmtp.gate.rules import GateRules


@dataclass(frozen=True)
class Baseline:
    figures: dict[tuple[str, str, str], Figure]
    label: str  # "tag:pre-upgrade (runs 1a2b3c4, 5d6e7f8)"

    @classmethod
    def from_documents(cls, source: str, docs: list[dict[str, Any]]) -> Baseline:
        """Several documents (a tag held by several runs) pool their samples per figure."""
        runs = ", ".join(str(d.get("run_id", "?")) for d in docs)
        label = source if len(docs) == 1 and docs[0].get("run_id") == source else \
            f"{source} (run{'s' if len(docs) > 1 else ''} {runs})"
        return cls(by_key(merged(document_figures(d) for d in docs)), label)


@dataclass(frozen=True)
class RunGate:
    rules: GateRules
    baseline: Baseline | None

    @property
    def active(self) -> bool:
        return self.baseline is not None or bool(self.rules.slas)

    def verdict(self, scenario: str, markers: Iterable[str], flow: dict[str, Any]) -> Verdict | None:
        """None when nothing is to be judged (no baseline and no SLA)."""
        if not self.active:
            return None
        base = self.baseline
        return judge(scenario, markers, flow_figures(flow), base.figures if base else None, self.rules,
                     base.label if base else None)


def load(rules: GateRules, source: str | None, history: str | None = None, cloud: str | None = None) -> RunGate:
    """The gate of a run: --vmtp-baseline SOURCE read now, so that a missing baseline stops the
    run at start with one line instead of failing every row."""
    baseline = Baseline.from_documents(source, documents.load(source, history, cloud)) if source else None
    return RunGate(rules, baseline)


def judge_document(gate: RunGate, doc: dict[str, Any]) -> list[tuple[dict[str, Any], Verdict]]:
    """Every passed row of a stored run judged, as the in-run gate would have (vmtp-compare)."""
    from pytest_vmtp.catalogue import catalogue

    markers = {s.id: s.markers for s in catalogue(multicast=True)}
    out = []
    for flow in doc.get("flows") or []:
        sid = str(flow.get("scenario", ""))
        if not measured(flow):
            continue
        verdict = gate.verdict(sid, markers.get(sid, ()), flow)
        if verdict is not None:
            out.append((flow, verdict))
    return out
