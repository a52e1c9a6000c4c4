"""Results documents judged by the real gate, as the in-run gate will record its verdicts."""

from __future__ import annotations

from pytest_vmtp.gate import rules, run_gate

# The upgrade-gating thresholds of issue 9 (the gate's defaults).
RULES = rules.build({}, [], defaults={"tp_kbps": "-10%", "rtt_avg_ms": "+25%", "loss_rate": "+2"})


def judged(doc: dict, gate: run_gate.RunGate) -> dict:
    """doc with each passed row's verdict in flow['gate']: {verdict, baseline, checks}."""
    for flow, verdict in run_gate.judge_document(gate, doc):
        flow["gate"] = verdict.to_json()
    return doc
