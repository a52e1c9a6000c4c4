"""Flat views of one flow's results: JUnit properties and the pytest-html metrics table."""

from __future__ import annotations

import html
from collections import defaultdict
from statistics import mean
from typing import Any

_TP_FIELDS = ("throughput_kbps", "loss_rate", "rtt_ms", "retrans", "jitter", "jitter_kind",
              "bandwidth_limit_kbps", "search_rate_kbps", "loss_in_target", "multicast_group",
              "multicast_group_asked", "note")
_RUN_FIELDS = ("throughput_kbps", "rtt_ms", "retrans")  # per TCP run
_ICMP_FIELDS = ("rtt_avg_ms", "rtt_min_ms", "rtt_max_ms", "rtt_stddev", "tx_packets", "rx_packets")


_STATUS = {"passed": "PASSED", "failed": "FAILED", "skipped": "SKIPPED"}


def status_of(outcome: str) -> str:
    """VMTP's Functional Status of a pytest outcome: the one mapping every report uses."""
    return _STATUS.get(outcome, "FAILED")


def _base(item: dict[str, Any]) -> str:
    """e.g. 'udp.1024', 'reverse.tcp.65536'; scale mode: 'tcp.65536.x8' (eight pairs at once)."""
    prefix = ("reverse." if item.get("direction") == "reverse" else "") + str(item.get("protocol", "")).lower()
    size = item.get("pkt_size")
    base = f"{prefix}.{size}" if size else prefix
    return f"{base}.x{item['pairs']}" if item.get("pairs") is not None else base


def _pair_properties(item: dict[str, Any]) -> list[tuple[str, str]]:
    """Scale mode: the pairs' spread and fairness, the start skew, each pair's throughput."""
    if item.get("pairs") is None:
        return []
    base = _base(item) + (f".run{item['run']}" if item.get("run") is not None else "")
    props = [(f"{base}.{k}", _value(v)) for k, v in (item.get("distribution") or {}).items() if v is not None]
    if item.get("start_skew_ms") is not None:
        props.append((f"{base}.start_skew_ms", str(item["start_skew_ms"])))
    props += [(f"{base}.pair{p['pair']}.throughput_kbps", str(p["throughput_kbps"]))
              for p in item.get("pair_results") or []]
    return props


def _value(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def host_cpu(item: dict[str, Any]) -> dict[str, list[float]]:
    """An item's host CPU samples, {host IP: [busy CPUs, ...]}; {} without (or in an older
    document, where cpu_load held the tool's own tx/rx percentages)."""
    loads = item.get("cpu_load")
    if not isinstance(loads, dict):
        return {}
    return {str(ip): [float(v) for v in values] for ip, values in loads.items()
            if isinstance(values, list) and values and all(isinstance(v, (int, float)) for v in values)}


def _cpu_properties(prefix: str, item: dict[str, Any]) -> list[tuple[str, str]]:
    """'tcp.65536.run1.cpu_load.10.0.0.5' = '0.42 1.1 0.97' (the samples, as VMTP's list) and
    the tool's own 'tcp.65536.run1.tool_cpu_tx' = '78' (percent)."""
    props = [(f"{prefix}.cpu_load.{ip}", " ".join(_value(v) for v in values))
             for ip, values in host_cpu(item).items()]
    tool = item.get("tool_cpu_pct") or {}
    props += [(f"{prefix}.tool_cpu_{side}", _value(tool[side])) for side in ("tx", "rx") if side in tool]
    return props


def properties(flow: dict[str, Any]) -> list[tuple[str, str]]:
    """Name/value pairs such as ('udp.1024.loss_rate', '0.4'), for record_property/JUnit.

    TCP runs each get theirs ('tcp.65536.run2.retrans'); 'tcp.65536.throughput_kbps' and
    'tcp.65536.rtt_ms' are the means over the runs, as in the summary table; the hosts' CPU
    load its peak over the runs ('tcp.65536.cpu_load_max.10.0.0.5')."""
    props = [("vmtp.scenario", flow["scenario"]), ("vmtp.status", flow["status"])]
    for key in ("desc", "ip_from", "ip_to", "ip_version"):
        if flow.get(key):
            props.append((f"vmtp.{key}", str(flow[key])))
    props += [("vmtp.warning", str(line)) for line in flow.get("warnings") or []]
    tcp_runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in flow.get("results", []):
        proto = str(item.get("protocol", "")).lower()
        if "error" in item:
            props.append((f"{proto}.error", item["error"]))
        elif proto == "icmp":
            if item.get("ping_interval_s") is not None:
                props.append(("icmp.ping_interval_s", _value(item["ping_interval_s"])))
            for size in item["results"]:
                for f in _ICMP_FIELDS:
                    if size.get(f) is not None:
                        props.append((f"icmp.{size['packet_size']}.{f}", str(size[f])))
        elif item.get("run") is not None:
            tcp_runs[_base(item)].append(item)
            for f in _RUN_FIELDS:
                if item.get(f) is not None:
                    props.append((f"{_base(item)}.run{item['run']}.{f}", str(item[f])))
            props += _cpu_properties(f"{_base(item)}.run{item['run']}", item)
            props += _pair_properties(item)
        else:
            base = _base(item)
            for f in _TP_FIELDS:
                if item.get(f) is not None:
                    props.append((f"{base}.{f}", _value(item[f])))
            props += _cpu_properties(base, item)
            props += _pair_properties(item)
            search = item.get("rate_search")
            if search:
                props.append((f"{base}.search_outcome", search["outcome"]))
                props.append((f"{base}.search_probes", str(len(search["probes"]))))
    for base, runs in tcp_runs.items():
        props += _tcp_summary(base, runs)
    return props + gate_properties(flow.get("gate"))


def _tcp_summary(base: str, runs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    rates = [r["throughput_kbps"] for r in runs]
    out = [(f"{base}.runs", str(len(runs))), (f"{base}.throughput_kbps", str(round(mean(rates)))),
           (f"{base}.throughput_kbps_min", str(min(rates))), (f"{base}.throughput_kbps_max", str(max(rates)))]
    rtts = [r["rtt_ms"] for r in runs if r.get("rtt_ms") is not None]
    if rtts:
        out.append((f"{base}.rtt_ms", str(round(mean(rtts), 3))))
    retrans = [r["retrans"] for r in runs if r.get("retrans") is not None]
    if retrans:
        out.append((f"{base}.retrans_total", str(sum(retrans))))
    if runs[0].get("bandwidth_limit_kbps") is not None:
        out.append((f"{base}.bandwidth_limit_kbps", str(runs[0]["bandwidth_limit_kbps"])))
    peaks: dict[str, float] = {}
    for run in runs:
        for ip, values in host_cpu(run).items():
            peaks[ip] = max(peaks.get(ip, 0.0), *values)
    out += [(f"{base}.cpu_load_max.{ip}", _value(peak)) for ip, peak in peaks.items()]
    return out


def html_table(flow: dict[str, Any]) -> str:
    """A small metrics table for the pytest-html row of this scenario."""
    rows = []
    for item in flow.get("results", []):
        proto = html.escape(str(item.get("protocol", "")))
        if "error" in item:
            rows.append(f"<tr><td>{proto}</td><td colspan='8'>error: {html.escape(item['error'])}</td></tr>")
        elif item.get("protocol") == "ICMP":
            every = f" every {_v(item.get('ping_interval_s'))} s" if item.get("ping_interval_s") else ""
            for s in item["results"]:
                rows.append(
                    f"<tr><td>ICMP</td><td>{s['packet_size']}</td><td></td><td></td><td>"
                    f"{_pct(s)}</td><td>{_v(s.get('rtt_avg_ms'))} (min {_v(s.get('rtt_min_ms'))}, "
                    f"max {_v(s.get('rtt_max_ms'))}, sd {_v(s.get('rtt_stddev'))})</td><td></td>"
                    f"<td>ping{every}</td><td></td></tr>"
                )
        else:
            dirn = " (reverse)" if item.get("direction") == "reverse" else ""
            run = f" run {item['run']}" if item.get("run") is not None else ""
            asked = item.get("search_rate_kbps") or item.get("bandwidth_limit_kbps")
            how = " (searched)" if item.get("search_rate_kbps") else ""
            loss = _v(item.get("loss_rate"))
            if item.get("loss_in_target") is False:
                low, high = (item.get("rate_search") or {}).get("loss_target") or ("", "")
                loss += f" (outside {_v(low)}-{_v(high)})"
            pairs = f" {item['pairs']} pairs" if item.get("pairs") is not None else ""
            tool = html.escape(str(item.get("tool", ""))) + _tool_cpu_cell(item)
            if item.get("jitter") is not None:  # multicast (and iperf's UDP): the receiver's jitter
                tool += f" (jitter {_v(item['jitter'])} ms)"
            if item.get("note"):
                tool += f"<br>{html.escape(item['note'])}"
            rows.append(
                f"<tr><td>{proto}{dirn}{run}{pairs}</td><td>{_v(item.get('pkt_size'))}</td>"
                f"<td>{_v(asked)}{how}</td>"
                f"<td>{_v(item.get('throughput_kbps'))}</td><td>{loss}</td>"
                f"<td>{_v(item.get('rtt_ms'))}</td><td>{_v(item.get('retrans'))}</td>"
                f"<td>{tool}</td><td>{_host_cpu_cell(item)}</td></tr>"
            )
            rows += _pair_rows(item)
    if not rows:
        return ""
    head = ("<tr><th>Protocol</th><th>Size (B)</th><th>Rate asked (kbit/s)</th>"
            "<th>Throughput (kbit/s)</th><th>Loss (%)</th>"
            "<th>RTT (ms)</th><th>Retrans</th><th>Tool (its CPU %, tx/rx)</th>"
            "<th>Host CPU (busy CPUs, from gmond)</th></tr>")
    desc = html.escape(f"{flow.get('desc', '')}: {flow.get('ip_from') or ''} -> {flow.get('ip_to') or ''}")
    warnings = "".join(f"<p class='vmtp-warning'>WARNING {html.escape(str(w))}</p>"
                       for w in flow.get("warnings") or [])
    return (f"<div class='vmtp-metrics'><p>{desc}</p><table border='1' cellpadding='3'>"
            f"{head}{''.join(rows)}</table>{warnings}</div>")


def _tool_cpu_cell(item: dict[str, Any]) -> str:
    tool = item.get("tool_cpu_pct") or {}
    if "tx" not in tool and "rx" not in tool:
        return ""
    return f" ({_v(tool.get('tx', '-'))}/{_v(tool.get('rx', '-'))})"


def _host_cpu_cell(item: dict[str, Any]) -> str:
    """Per host: its samples' range and count, e.g. '10.0.0.5: 0.42-1.1 (3)'."""
    parts = []
    for ip, values in host_cpu(item).items():
        low, high = min(values), max(values)
        span = _v(low) if low == high else f"{_v(low)}-{_v(high)}"
        parts.append(f"{html.escape(ip)}: {span} ({len(values)})")
    return "<br>".join(parts)


def _pair_rows(item: dict[str, Any]) -> list[str]:
    """Scale mode: under the pairs' line, their spread and each pair's own line."""
    dist = item.get("distribution")
    if not dist:
        return []
    skew = f", start skew {_v(item.get('start_skew_ms'))} ms" if item.get("start_skew_ms") is not None else ""
    rows = [f"<tr class='vmtp-pairs'><td></td><td colspan='7'>per pair: min {_v(dist.get('min_kbps'))}, median "
            f"{_v(dist.get('median_kbps'))}, max {_v(dist.get('max_kbps'))} kbit/s; Jain's index "
            f"{_v(dist.get('jain_index'))}{skew}</td></tr>"]
    for p in item.get("pair_results") or []:
        where = html.escape(f"{p.get('ip_from') or ''} ({p.get('az_from') or ''}) -> {p.get('ip_to') or ''} "
                            f"({p.get('az_to') or ''}), started +{p.get('start_offset_ms', '?')} ms")
        rows.append(f"<tr class='vmtp-pair'><td>pair {_v(p.get('pair'))}</td><td colspan='2'>{where}</td>"
                    f"<td>{_v(p.get('throughput_kbps'))}</td><td>{_v(p.get('loss_rate'))}</td>"
                    f"<td>{_v(p.get('rtt_ms'))}</td><td>{_v(p.get('retrans'))}</td><td></td></tr>")
    return rows


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
