"""A scaled row: its pairs measured at once, or a progression of pair counts that stops at the
first step breaking an SLA.

TCP: every run of every size with all pairs at once. UDP: the rate search probes all pairs at
one rate each (the probe's loss is theirs together), then one full-length run of all pairs at
the rate found. Each result item is the pairs together (scale/stats.py), with each pair's own
figures in it; the row's `scale` record says which pair counts ran and why they stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from statistics import mean
from typing import TYPE_CHECKING, Any

from pytest_vmtp.measure.errors import MeasureError
from pytest_vmtp.measure.flows import ToolSession, checked_udp
from pytest_vmtp.measure.parallel import Together, dispatch_s, open_sessions, run_together
from pytest_vmtp.measure.probe import RunOutcome, RunSpec
from pytest_vmtp.measure.settings import MeasureSettings
from pytest_vmtp.measure.tools import tool_for
from pytest_vmtp.measure.udp_search import Probe, search_udp_rate
from pytest_vmtp.results import FlowResult, RateSearch, ThroughputResult
from pytest_vmtp.scale.settings import ScaleSettings
from pytest_vmtp.scale.stats import aggregate_loss, distribution, skew_ms

if TYPE_CHECKING:
    from pytest_vmtp.scenario_run import FlowEndpoints

# A step's result items (JSON) -> why they break an SLA, or None.
Breach = Callable[[list[dict[str, Any]]], str | None]


def run_scaled(protocol: str, pairs: Sequence[FlowEndpoints], settings: MeasureSettings,
               scale: ScaleSettings, flow: FlowResult, breach: Breach | None = None) -> None:
    """Measure protocol ("tcp" or "udp") over pairs[:n] for each step n; results go into flow."""
    if len(pairs) < scale.pairs:
        raise MeasureError(f"scale mode: {scale.pairs} pairs asked, {len(pairs)} built")
    record: dict[str, Any] = {"pairs": scale.pairs, "progression": scale.progression, "steps": [],
                              "stopped": None, "start_skew_ms": None}
    flow.scale = record
    for count in scale.steps:
        items = measure_pairs(protocol, pairs[:count], settings, scale.lead_s(count))
        flow.results.extend(items)
        record["steps"].append(count)
        skews = [i.start_skew_ms for i in items if i.start_skew_ms is not None]
        if skews:
            record["start_skew_ms"] = max([*skews, record["start_skew_ms"] or 0.0])
        why = breach([i.to_json() for i in items]) if breach is not None and scale.progression else None
        if why:
            record["stopped"] = f"at {count} pair{'s' if count > 1 else ''}: {why}"
            break


def measure_pairs(protocol: str, pairs: Sequence[FlowEndpoints], settings: MeasureSettings,
                  lead_s: float) -> list[ThroughputResult]:
    tool = tool_for(pairs[0].client, settings)
    with ExitStack() as stack:
        sessions = [ToolSession(p.client, p.server, tool, protocol.upper(), p.dest_ip) for p in pairs]
        open_sessions(stack, sessions)
        lead_s = max(lead_s, 2 * dispatch_s(sessions))  # a loaded controller needs longer
        if protocol == "tcp":
            return _tcp(sessions, pairs, settings, lead_s)
        if protocol == "udp":
            return _udp(sessions, pairs, settings, lead_s)
    raise MeasureError(f"scale mode measures TCP and UDP, not {protocol}")


def _aggregate(protocol: str, tool: str, size: int, together: Together, pairs: Sequence[FlowEndpoints],
               settings: MeasureSettings, run: int | None = None) -> ThroughputResult:
    outs = together.outcomes
    rates = [o.throughput_kbps for o in outs]
    per_pair = []
    for index, (out, offset, ends) in enumerate(zip(outs, together.offsets_ms(), pairs, strict=True)):
        entry = {"pair": index + 1, "throughput_kbps": out.throughput_kbps,
                 "loss_rate": round(out.loss_rate, 4) if out.loss_rate is not None else None,
                 "rtt_ms": out.rtt_ms, "retrans": out.retrans,
                 "jitter": round(out.jitter_ms, 4) if out.jitter_ms is not None else None,
                 "start_offset_ms": offset, "ip_from": ends.ip_from, "ip_to": ends.ip_to,
                 "az_from": ends.az_from, "az_to": ends.az_to}
        per_pair.append({k: v for k, v in entry.items() if v is not None})
    rtts = [o.rtt_ms for o in outs if o.rtt_ms is not None]
    jitters = [o.jitter_ms for o in outs if o.jitter_ms is not None]
    losses = [o.loss_rate for o in outs]
    loss = aggregate_loss(rates, [x for x in losses if x is not None]) \
        if protocol != "TCP" and all(x is not None for x in losses) else None
    return ThroughputResult(
        protocol=protocol, tool=tool, throughput_kbps=sum(rates), pkt_size=size,
        loss_rate=round(loss, 4) if loss is not None else None,
        rtt_ms=round(mean(rtts), 3) if rtts else None,
        retrans=sum(o.retrans for o in outs if o.retrans is not None) if all(o.retrans is not None for o in outs)
        else None,
        bandwidth_limit_kbps=settings.bandwidth_kbps, direction="reverse" if pairs[0].reverse else None,
        jitter=round(mean(jitters), 4) if jitters else None, run=run,
        pairs=len(pairs), pair_results=per_pair, distribution=distribution(rates).to_json(),
        start_skew_ms=skew_ms(together.started),
    )


def _tcp(sessions: list[ToolSession], pairs: Sequence[FlowEndpoints], settings: MeasureSettings,
         lead_s: float) -> list[ThroughputResult]:
    results = []
    for size in settings.tcp_pkt_sizes:
        specs = [RunSpec("TCP", p.dest_ip, settings.duration_s, size, settings.bandwidth_kbps, p.reverse,
                         settings.tcp_buffer) for p in pairs]
        for run in range(1, max(1, settings.tcp_runs) + 1):
            together = run_together(sessions, specs, lead_s)
            results.append(_aggregate("TCP", sessions[0].tool.version, size, together, pairs, settings, run))
    return results


def _udp(sessions: list[ToolSession], pairs: Sequence[FlowEndpoints], settings: MeasureSettings,
         lead_s: float) -> list[ThroughputResult]:
    version = sessions[0].tool.version
    low, high = settings.udp_loss_target
    results = []
    for size in settings.udp_pkt_sizes:
        def together(rate: int | None, duration: float, size: int = size) -> Together:
            specs = [RunSpec("UDP", p.dest_ip, duration, size, rate, p.reverse, settings.udp_buffer) for p in pairs]
            done = run_together(sessions, specs, lead_s)
            for index, out in enumerate(done.outcomes):
                try:
                    checked_udp(out, "UDP", size, rate, version)
                except MeasureError as exc:
                    raise MeasureError(f"pair {index + 1}: {exc}") from None
            return done

        search = None
        rate = settings.bandwidth_kbps
        if rate is None:
            def probe(kbps: int, together: Callable[[int | None, float], Together] = together) -> Probe:
                outs: list[RunOutcome] = together(kbps, settings.udp_probe_s).outcomes
                rates = [o.throughput_kbps for o in outs]
                loss = aggregate_loss(rates, [o.loss_rate or 0.0 for o in outs])
                return Probe(kbps, round(mean(rates)), loss)  # per pair: the next rate is per pair

            search = search_udp_rate(probe, settings.udp_loss_target, settings.udp_search_max_probes,
                                     settings.udp_search_start_kbps)
            rate = search.rate_kbps
        item = _aggregate("UDP", version, size, together(rate, settings.duration_s), pairs, settings)
        if search is not None:
            item.search_rate_kbps = search.rate_kbps
            item.loss_in_target = item.loss_rate is not None and low <= item.loss_rate <= high
            item.rate_search = RateSearch(
                outcome=search.outcome, loss_target=[low, high], probe_s=settings.udp_probe_s,
                probes=[{"rate_kbps": p.rate_kbps, "throughput_kbps": p.throughput_kbps,
                         "loss_rate": round(p.loss_rate, 4)} for p in search.probes])
        results.append(item)
    return results
