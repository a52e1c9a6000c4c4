"""VMTP's own result files as pytest-vmtp rows: VMTP writes one flow per client with every
protocol in it and no row id; its summary table reads rows out of the flow descriptions, and so
does this. Pure."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

_PROTO_MINOR = {"TCP": 1, "UDP": 2, "ICMP": 3, "Multicast": 4}
# VMTP's flow descriptions -> group, as its print_report reads them.
_GROUPS = (("same network", "fixed IP", "intra-node", 1), ("same network", "fixed IP", "inter-node", 2),
           ("different network", "fixed IP", "intra-node", 3), ("different network", "fixed IP", "inter-node", 4),
           ("different network", "floating IP", "intra-node", 5),
           ("different network", "floating IP", "inter-node", 6))


def _group_of(desc: str) -> int | None:
    if "Native" in desc:
        return 7
    for net, addr, node, group in _GROUPS:
        if net in desc and addr in desc and node in desc:
            return group
    return None


def split_vmtp_flows(doc: dict[str, Any]) -> dict[str, Any]:
    """A VMTP 2.x document (flows without 'scenario') as one flow per summary row. VMTP's
    "Native intra-host" flow, beside a "Native inter-host" one, becomes the companion flow of
    each 7.x row (as pytest-vmtp writes it), so that its figures stay apart from the row's."""
    flows = [f for f in doc.get("flows") or [] if isinstance(f, dict)]
    if all("scenario" in f for f in flows):
        return doc
    descs = [str(f.get("desc", "")) for f in flows if "Native" in str(f.get("desc", ""))]
    both = any("inter-host" in d for d in descs) and any("intra-host" in d for d in descs)
    rows: dict[str, dict[str, Any]] = {}
    companions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for flow in flows:
        if "scenario" in flow:
            if flow.get("companion"):
                companions[str(flow["scenario"])].append(flow)
            else:
                rows[str(flow["scenario"])] = flow
            continue
        desc = str(flow.get("desc", ""))
        companion = "intra-host" if both and "Native" in desc and "intra-host" in desc else None
        made: dict[str, dict[str, Any]] = {}
        for item in flow.get("results") or []:
            if not isinstance(item, dict):
                continue
            proto = item.get("protocol")
            if "External-VM" in desc:
                sid = "8.2" if item.get("direction") == "reverse" else "8.1"
            else:
                group = _group_of(desc)
                if group is None or proto not in _PROTO_MINOR:
                    continue
                sid = f"{group}.{_PROTO_MINOR[proto]}"
            fresh = {**{k: v for k, v in flow.items() if k != "results"}, "scenario": sid, "status": "PASSED",
                     "results": []}
            if companion:
                row = made.get(sid)
                if row is None:
                    row = made[sid] = {**fresh, "companion": companion}
                    companions[sid].append(row)
            else:
                row = rows.setdefault(sid, fresh)
            row["results"].append(item)
            if "error" in item:
                row["status"] = "FAILED"
    out: list[dict[str, Any]] = []
    for sid, row in rows.items():
        out.append(row)
        out.extend(companions.pop(sid, []))
    out.extend(f for extra in companions.values() for f in extra)  # a companion whose row has no results
    return {**doc, "flows": out}
