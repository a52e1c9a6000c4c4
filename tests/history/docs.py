"""Results documents for the history tests, built as the plugin builds them."""

from __future__ import annotations

from datetime import datetime, timedelta

from pytest_vmtp.report import vmtp_json
from pytest_vmtp.results import FlowResult, IcmpResult, PingSizeResult, ThroughputResult

T0 = datetime(2025, 3, 1, 12, 0, 0)


def tcp_flow(sid: str, status: str, *rates: int) -> dict:
    results = [ThroughputResult("TCP", "nuttcp-8.2.2", r, pkt_size=65536, rtt_ms=0.2, retrans=0) for r in rates]
    return FlowResult(scenario=sid, name=f"row {sid}, TCP", desc="VM to VM", status=status,
                      reason=None if status == "PASSED" else "it failed", results=results).to_json()


def icmp_flow(sid: str, avg: float) -> dict:
    return FlowResult(scenario=sid, name=f"row {sid}, ICMP", desc="VM to VM", status="PASSED", results=[
        IcmpResult([PingSizeResult(64, 10, 10, avg / 2, avg, avg * 2, 0.01)])]).to_json()


def skipped_flow(sid: str) -> dict:
    return FlowResult(scenario=sid, name=f"row {sid}", desc="", status="SKIPPED", reason="not selected").to_json()


def make_doc(run_id: str, minutes: int = 0, cloud: str | None = "prod", rate: int = 9_000_000,
             failed: bool = False, description: str | None = "nightly") -> dict:
    """A run of cloud (None: no cloud in the metadata) at T0 + minutes: 2.1 TCP (3 runs around
    rate; FAILED when failed), 2.3 ICMP, 1.1 skipped."""
    flows = [tcp_flow("2.1", "FAILED" if failed else "PASSED", rate - 100_000, rate, rate + 100_000),
             icmp_flow("2.3", 0.2), skipped_flow("1.1")]
    meta = {"cloud": cloud, "auth_url": "http://127.0.0.1:5000/v3"} if cloud else {}
    doc = vmtp_json.build_document(flows, run_id, {"tool": "nuttcp", "duration_s": 10}, description, meta,
                                   date=T0 + timedelta(minutes=minutes))
    vmtp_json.validate(doc)
    return doc
