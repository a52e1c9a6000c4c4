"""Neutron's agents as this cloud runs them: what `GET /v2.0/agents` lists on a DevStack with
the Linux bridge mechanism driver (bridges and VXLAN, as the data path builds them) and the
legacy L3 agent: a "Linux bridge agent" on every compute host and on the network node, and an
"L3 agent" on the network node (its qrouter namespaces). No DHCP agent: addresses are given by
the data path itself. Ids are stable for a cloud (derived from its prefix, host and binary).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from .context import Cloud
from .dataplane.addressing import NETWORK_NODE
from .dataplane.names import Names

LINUXBRIDGE = ("Linux bridge agent", "neutron-linuxbridge-agent", "N/A")
L3 = ("L3 agent", "neutron-l3-agent", "l3_agent")
_STARTED = time.time()  # this server process's start: the agents' (re)start, as after a reboot


def _stamp(when: float) -> str:
    """Agents' times, as Neutron shows them: '2024-05-01 10:00:00' (UTC, no T, no zone)."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _agent(c: Cloud, kind: tuple[str, str, str], host: str, zone: str | None,
           configurations: dict[str, Any]) -> dict[str, Any]:
    agent_type, binary, topic = kind
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"vmtp-localcloud/{c.state.prefix}/{host}/{binary}")),
        "agent_type": agent_type, "binary": binary, "topic": topic, "host": host,
        "admin_state_up": True, "alive": True, "availability_zone": zone, "description": None,
        "configurations": configurations, "created_at": _stamp(_STARTED), "started_at": _stamp(_STARTED),
        "heartbeat_timestamp": _stamp(time.time()), "resources_synced": None,
    }


def agents(c: Cloud) -> list[dict[str, Any]]:
    names = Names(c.state.prefix)
    mappings = {net: names.phys_bridge(i) for i, net in enumerate(c.state.physical_networks, start=1)}
    with c.state.lock:
        ports = list(c.state.table("ports").values())
        routers = len(c.state.table("routers"))
    out = []
    for host in [*c.state.hosts, NETWORK_NODE]:
        devices = sum(1 for p in ports if p.get("binding:host_id") == host)
        out.append(_agent(c, LINUXBRIDGE, host, None, {
            "bridge_mappings": {}, "interface_mappings": mappings, "devices": devices, "extensions": [],
            "l2_population": True, "tunnel_types": ["vxlan"], "tunneling_ip": c.dataplane.host_address(host)
            if host != NETWORK_NODE else None}))
    out.append(_agent(c, L3, NETWORK_NODE, "nova", {
        "agent_mode": "legacy", "routers": routers, "ex_gw_ports": routers, "interfaces": 0,
        "floating_ips": len(c.state.table("floatingips")), "interface_driver": "linuxbridge",
        "handle_internal_only_routers": True, "log_agent_heartbeats": False}))
    return out
