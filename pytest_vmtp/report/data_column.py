"""The 'Data' column of VMTP's summary table, derived from a flow's JSON results.

It must render whatever a flow holds: busybox ping (CirrOS) gives no stddev, a size with no
reply gives no rtt at all, iperf gives no TCP rtt. A missing figure shows as '-'.
"""

from __future__ import annotations

from statistics import mean
from typing import Any

ICMP_KEY = "rtt avg/min/max/stddev msec"  # VMTP's key and per-size layout


def _fmt(v: float | str | None, digits: int = 3) -> str:
    """A figure as VMTP shows it; VMTP 1.x files hold figures as strings."""
    if v is None:
        return "-"
    try:
        number = float(v)
    except ValueError:
        return "-"
    return f"{number:.{digits}f}".rstrip("0").rstrip(".")


PAIRS_KEY = "pair tp_kbps min/median/max"  # scale mode: the pairs' spread, as VMTP's ICMP key


def data_for(protocol: str | tuple[str, ...], results: list[dict[str, Any]],
             scale: dict[str, Any] | None = None) -> dict:
    """VMTP's compact view: TCP {'tp_kbps','rtt_ms'} (mean over runs, with min and max);
    UDP and multicast {size: {'tp_kbps','loss_rate'}} (multicast: and 'jitter'); ICMP
    {'rtt avg/min/max/stddev msec': {'64-byte': ...}}. A row of several protocols (8.x: TCP,
    UDP, ICMP) shows TCP's keys, then 'udp': {size: ...}, then ICMP's key, of those it holds.
    Scale mode (items with pairs; scale: the flow's record): the pairs together, their spread
    and fairness, per pair count of a progression."""
    if isinstance(protocol, tuple):
        if len(protocol) == 1:
            return data_for(protocol[0], results, scale)
        out: dict[Any, Any] = {}
        for proto in protocol:
            part = data_for(proto, results, scale)
            if part:
                out.update(part if proto in ("tcp", "icmp") else {proto: part})
        return out
    if protocol == "icmp":
        return _icmp(results)
    items = [r for r in results if "throughput_kbps" in r and _is(r, protocol)]
    if any(r.get("pairs") is not None for r in items):
        return _scaled(protocol, items, scale or {})
    if protocol == "tcp":
        return _tcp(items)
    return {r.get("pkt_size"): _udp(r) for r in items}  # UDP and multicast: one entry per size


def _is(item: dict[str, Any], protocol: str) -> bool:
    """Is the item of this protocol? Items without one (VMTP 1.x files) go with every protocol."""
    named = item.get("protocol")
    return named is None or str(named).lower() == protocol


def _tcp(items: list[dict[str, Any]]) -> dict:
    if not items:
        return {}
    rates = [r["throughput_kbps"] for r in items]
    out = {"tp_kbps": str(int(mean(rates)))}
    if len(rates) > 1:
        out["tp_kbps_min"], out["tp_kbps_max"] = str(min(rates)), str(max(rates))
    rtts = [r["rtt_ms"] for r in items if r.get("rtt_ms") is not None]
    if rtts:
        out["rtt_ms"] = _fmt(mean(rtts), 6)
    return out


def _udp(item: dict[str, Any]) -> dict:
    out: dict[str, Any] = {"tp_kbps": item["throughput_kbps"], "loss_rate": item.get("loss_rate")}
    if item.get("protocol") == "Multicast":
        out.update(_multicast(item))
    if item.get("loss_in_target") is False:  # the full-length run missed the searched window
        search = item.get("rate_search") or {}
        low, high = search.get("loss_target") or (None, None)
        why = search.get("outcome", "")
        out["loss_target"] = f"missed {_fmt(low)}-{_fmt(high)}%" + (
            f" ({why})" if why and why != "converged" else "")
    return out


def _multicast(item: dict[str, Any]) -> dict:
    """VMTP's 'jitter' (ms); what differs from VMTP's measurement is said in the cell, never
    left out: no jitter, a group of the tool's own choosing (nuttcp 6), a tool other than
    VMTP's nuttcp (whose jitter is another statistic)."""
    out: dict[str, Any] = {"jitter": item["jitter"] if item.get("jitter") is not None else "not measured"}
    used, asked = item.get("multicast_group"), item.get("multicast_group_asked")
    if used and asked and used != asked:
        out["group"] = f"{used}, not {asked}"
    if item.get("tool") and not str(item["tool"]).startswith("nuttcp"):
        out["tool"] = item["tool"]
    return out


def _icmp(results: list[dict[str, Any]]) -> dict:
    # VMTP 2.x: one entry per size under "results"; VMTP 1.x: the item itself, without a size.
    sizes = [r for item in results if item.get("protocol") == "ICMP" for r in item.get("results") or [item]]
    if not sizes:
        return {}
    per_size = {}
    for r in sizes:
        label = f"{r['packet_size']}-byte" if r.get("packet_size") is not None else "all"
        if r.get("error"):
            per_size[label] = f"error: {r['error']}"
        elif r.get("rtt_avg_ms") is None:
            per_size[label] = f"no reply ({r.get('rx_packets', 0)}/{r.get('tx_packets', '?')})"
        else:
            per_size[label] = "/".join(_fmt(r.get(k)) for k in
                                       ("rtt_avg_ms", "rtt_min_ms", "rtt_max_ms", "rtt_stddev"))
    return {ICMP_KEY: per_size}


def _scaled(protocol: str, items: list[dict[str, Any]], scale: dict[str, Any]) -> dict:
    counts = sorted({int(r["pairs"]) for r in items if r.get("pairs") is not None})
    out: dict[Any, Any]
    if len(counts) == 1:
        out = {"pairs": counts[0], **_step(protocol, items)}
    else:  # a progression: one entry per pair count
        out = {f"{n} pair{'s' if n > 1 else ''}": _step(protocol, [r for r in items if r.get("pairs") == n])
               for n in counts}
    if scale.get("start_skew_ms") is not None:
        out["start_skew_ms"] = _fmt(scale["start_skew_ms"])
    if scale.get("stopped"):
        out["stopped"] = scale["stopped"]
    return out


def _step(protocol: str, items: list[dict[str, Any]]) -> dict:
    if protocol == "tcp":
        return {**_tcp(items), **_spread(items)}
    return {r.get("pkt_size"): {**_udp(r), **_spread([r])} for r in items}


def _spread(items: list[dict[str, Any]]) -> dict:
    """The pairs' min/median/max throughput (mean over runs) and Jain's index."""
    dists = [r["distribution"] for r in items if r.get("distribution")]
    if not dists:
        return {}
    out = {PAIRS_KEY: "/".join(str(round(mean(d[k] for d in dists))) for k in ("min_kbps", "median_kbps", "max_kbps"))}
    jains = [d["jain_index"] for d in dists if d.get("jain_index") is not None]
    if jains:
        out["jain"] = _fmt(mean(jains), 3)
    return out
