"""What a run left on the cloud, read from the API (for assertions)."""

from __future__ import annotations

from pytest_vmtp.cloud import naming


def inventory(conn, run_id: str) -> dict[str, list[str]]:
    """Marked resources of run_id, by kind, as sorted names (FIPs: addresses)."""
    net = conn.network

    def marked(items, attr: str = "name") -> list:
        return [i for i in items if naming.is_marked(getattr(i, attr, None), getattr(i, "tags", None), run_id)]

    networks = marked(net.networks())
    net_ids = {n.id for n in networks}
    return {
        "servers": sorted(s.name for s in conn.compute.servers(details=True)
                          if (s.metadata or {}).get(naming.SERVER_META_KEY) == run_id
                          or s.name.startswith(naming.name(run_id, ""))),
        "floating_ips": sorted(f.floating_ip_address for f in marked(net.ips(), "description")),
        "routers": sorted(r.name for r in marked(net.routers())),
        "networks": sorted(n.name for n in networks),
        "subnets": sorted(s.name for s in net.subnets() if s.network_id in net_ids or
                          naming.is_marked(s.name, s.tags, run_id)),
        "ports": sorted(p.id for p in net.ports() if p.network_id in net_ids),
        "security_groups": sorted(g.name for g in marked(net.security_groups())),
        "keypairs": sorted(k.name for k in marked(conn.compute.keypairs())),
        "server_groups": sorted(g.name for g in marked(conn.compute.server_groups())),
    }


def is_empty(inv: dict[str, list[str]]) -> bool:
    return not any(inv.values())
