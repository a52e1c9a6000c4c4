"""Flat views of one flow's results: JUnit properties and the pytest-html metrics table."""

from __future__ import annotations

import html
from typing import Any

_TP_FIELDS = ("throughput_kbps", "loss_rate", "rtt_ms", "retrans", "jitter",
              "bandwidth_limit_kbps", "throughput_kbps_min", "throughput_kbps_max")
_ICMP_FIELDS = ("rtt_avg_ms", "rtt_min_ms", "rtt_max_ms", "rtt_stddev", "tx_packets", "rx_packets")


_STATUS = {"passed": "PASSED", "failed": "FAILED", "skipped": "SKIPPED"}


def status_of(outcome: str) -> str:
    """VMTP's Functional Status of a pytest outcome: the one mapping every report uses."""
    return _STATUS.get(outcome, "FAILED")


def properties(flow: dict[str, Any]) -> list[tuple[str, str]]:
    """Name/value pairs such as ('udp.1024.loss_rate', '0.4'), for record_property/JUnit."""
    props = [("vmtp.scenario", flow["scenario"]), ("vmtp.status", flow["status"])]
    for key in ("desc", "ip_from", "ip_to"):
        if flow.get(key):
            props.append((f"vmtp.{key}", str(flow[key])))
    for item in flow.get("results", []):
        proto = str(item.get("protocol", "")).lower()
        if "error" in item:
            props.append((f"{proto}.error", item["error"]))
        elif proto == "icmp":
            for size in item["results"]:
                for f in _ICMP_FIELDS:
                    if size.get(f) is not None:
                        props.append((f"icmp.{size['packet_size']}.{f}", str(size[f])))
        else:
            prefix = ("reverse." if item.get("direction") == "reverse" else "") + proto
            size = item.get("pkt_size")
            base = f"{prefix}.{size}" if size else prefix
            for f in _TP_FIELDS:
                if item.get(f) is not None:
                    props.append((f"{base}.{f}", str(item[f])))
    return props + gate_properties(flow.get("gate"))


def html_table(flow: dict[str, Any]) -> str:
    """A small metrics table for the pytest-html row of this scenario."""
    rows = []
    for item in flow.get("results", []):
        proto = html.escape(str(item.get("protocol", "")))
        if "error" in item:
            rows.append(f"<tr><td>{proto}</td><td colspan='6'>error: {html.escape(item['error'])}</td></tr>")
        elif item.get("protocol") == "ICMP":
            for s in item["results"]:
                rows.append(
                    f"<tr><td>ICMP</td><td>{s['packet_size']}</td><td></td><td>"
                    f"{_pct(s)}</td><td>{_v(s.get('rtt_avg_ms'))} (min {_v(s.get('rtt_min_ms'))}, "
                    f"max {_v(s.get('rtt_max_ms'))}, sd {_v(s.get('rtt_stddev'))})</td><td></td><td>ping</td></tr>"
                )
        else:
            dirn = " (reverse)" if item.get("direction") == "reverse" else ""
            rows.append(
                f"<tr><td>{proto}{dirn}</td><td>{_v(item.get('pkt_size'))}</td>"
                f"<td>{_v(item.get('throughput_kbps'))}</td><td>{_v(item.get('loss_rate'))}</td>"
                f"<td>{_v(item.get('rtt_ms'))}</td><td>{_v(item.get('retrans'))}</td>"
                f"<td>{html.escape(str(item.get('tool', '')))}</td></tr>"
            )
    if not rows:
        return ""
    head = ("<tr><th>Protocol</th><th>Size (B)</th><th>Throughput (kbit/s)</th><th>Loss (%)</th>"
            "<th>RTT (ms)</th><th>Retrans</th><th>Tool</th></tr>")
    desc = html.escape(f"{flow.get('desc', '')}: {flow.get('ip_from') or ''} -> {flow.get('ip_to') or ''}")
    return (f"<div class='vmtp-metrics'><p>{desc}</p><table border='1' cellpadding='3'>"
            f"{head}{''.join(rows)}</table></div>")


def _v(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def _pct(size: dict[str, Any]) -> str:
    tx, rx = size.get("tx_packets") or 0, size.get("rx_packets") or 0
    return f"{100.0 * (tx - rx) / tx:.1f}" if tx else ""


def gate_properties(gate: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The gate's verdict for Jenkins: vmtp.gate, and per judged figure its baseline, change
    and allowed change (gate.tcp.65536.tp_kbps.change = -38.6 %) or its SLA."""
    if not gate:
        return []
    from pytest_vmtp.gate.judge import Verdict

    verdict = Verdict.from_json(gate)
    props = [("vmtp.gate", verdict.status)]
    if verdict.baseline_label:
        props.append(("vmtp.gate.baseline", verdict.baseline_label))
    if verdict.failed:
        props.append(("vmtp.gate.reason", verdict.reason()))
    for c in verdict.checks:
        name = f"gate.{c.figure.replace(' ', '.')}"
        state = "ok" if c.passed else ("broken" if c.kind == "sla" else "regressed")
        if c.kind == "sla":
            props.append((f"{name}.sla", f"{c.allowed}: {state}"))
            continue
        props += [(f"{name}.baseline", str(c.baseline)), (f"{name}.now", str(c.now)),
                  (f"{name}.change", c.change_text), (f"{name}.allowed", c.allowed), (f"{name}.verdict", state)]
    return props
