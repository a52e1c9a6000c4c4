"""VMTP's own result files as pytest-vmtp rows: VMTP writes one flow per client with every
protocol in it and no row id; its summary table reads rows out of the flow descriptions, and so
does this. Pure."""

from __future__ import annotations

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
    """A VMTP 2.x document (flows without 'scenario') as one flow per summary row."""
    if all("scenario" in f for f in doc.get("flows") or []):
        return doc
    rows: dict[str, dict[str, Any]] = {}
    for flow in doc.get("flows") or []:
        if "scenario" in flow:
            rows[flow["scenario"]] = flow
            continue
        desc = str(flow.get("desc", ""))
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
            row = rows.setdefault(sid, {**{k: v for k, v in flow.items() if k != "results"},
                                        "scenario": sid, "status": "PASSED", "results": []})
            row["results"].append(item)
            if "error" in item:
                row["status"] = "FAILED"
    return {**doc, "flows": list(rows.values())}
