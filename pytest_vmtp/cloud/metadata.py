"""What the JSON report says about the cloud: where, which API versions, what the VMs ran on;
and what VMTP read on its controller that the APIs give: the L2 agent type, the release.

No secrets: only the cloud's name, region and auth_url are read from the configuration.
"""

from __future__ import annotations

from typing import Any

from openstack.connection import Connection

from pytest_vmtp.cloud.topology import Topology


def _version(conn: Connection, service: str) -> dict[str, Any]:
    """API version and microversion range from the service's discovery document."""
    try:
        data = getattr(conn, service).get_endpoint_data()
    except Exception as exc:  # noqa: BLE001 - metadata must not fail the run
        return {"error": type(exc).__name__}
    if data is None:
        return {}
    out: dict[str, Any] = {}
    if data.api_version:
        out["version"] = ".".join(str(p) for p in data.api_version)
    if data.min_microversion:
        out["min_microversion"] = ".".join(str(p) for p in data.min_microversion)
    if data.max_microversion:
        out["max_microversion"] = ".".join(str(p) for p in data.max_microversion)
    return out


def _networks(conn: Connection, built: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("net1", "net2"):
        rec = built["resources"].get(key)
        if not rec:
            continue
        info: dict[str, Any] = {"name": rec["name"], "cidr": rec.get("cidr")}
        try:
            net = conn.network.get_network(rec["id"])
            info["network_type"] = net.provider_network_type  # admin-only on most clouds: may be None
            info["mtu"] = net.mtu
        except Exception as exc:  # noqa: BLE001
            info["error"] = type(exc).__name__
        out[key] = info
    return out


def _mode(built: dict[str, Any]) -> dict[str, Any]:
    """How the VMs were reached, what was reused, which rows could not run and why."""
    plan = built.get("plan") or {}
    res = built["resources"]
    reused = {key: rec["name"] for key in ("net1", "net2", "router", "security_group", "keypair")
              if (rec := res.get(key)) and rec.get("reused")}
    ipv6 = {key: {"cidr": rec["cidr6"], "mode": rec.get("ipv6_mode")} for key in ("net1", "net2")
            if (rec := res.get(key)) and rec.get("cidr6")}
    return {"ssh": plan.get("ssh"), "router": plan.get("router"), "reused": reused, "ipv6": ipv6,
            "unavailable": {need: item["reason"] for need, item in (plan.get("missing") or {}).items()}}


def _agents(conn: Connection) -> dict[str, Any]:
    """VMTP's l2agent_type and every agent type's count, from Neutron's agents (GET
    /v2.0/agents), which its default policy lists to admins only: a member sees none."""
    from pytest_vmtp.cloud.deployment import agent_counts, l2agent_type

    try:
        types = [str(a.agent_type) for a in conn.network.agents()]
    except Exception as exc:  # noqa: BLE001 - metadata must not fail the run (no agents API: OVN-less plugins)
        return {"neutron_agents": {"error": type(exc).__name__}}
    if not types:
        return {"neutron_agents": {"error": "none visible to this user (Neutron lists agents to admins only)"}}
    found = l2agent_type(types)
    return {"neutron_agents": agent_counts(types), **({"l2agent_type": found} if found else {})}


def _boot(topology: Topology, res: dict[str, Any]) -> dict[str, Any]:
    """How the VMs were booted (README "Cloud modes": NICs and boot, images, flavors)."""
    s = topology.settings
    return {"vnic_type": s.vnic_type, "config_drive": s.config_drive, "dhcp": s.dhcp, "footprint": s.footprint,
            "user_data": bool(s.user_data), "flavor_created": bool(res.get("flavor", {}).get("created")),
            "image_uploaded": bool(res.get("image", {}).get("uploaded"))}


def metadata(conn: Connection, topology: Topology | None) -> dict[str, Any]:
    from pytest_vmtp.cloud.deployment import release_of

    config = conn.config
    auth = config.config.get("auth") or {}
    apis = {s: _version(conn, s) for s in ("compute", "network", "image")}
    meta: dict[str, Any] = {
        "cloud": config.name,
        "region": config.region_name or None,
        "auth_url": auth.get("auth_url"),
        "api_versions": apis,
        **_agents(conn),
    }
    release = release_of(apis["compute"].get("max_microversion"))
    if release:
        meta["openstack_version"] = release
    if topology is None:
        return meta
    built = topology.built()
    res = built["resources"]
    meta.update({
        "run_id": topology.run_id,
        "image": res.get("image", {}).get("name"),
        "flavor": res.get("flavor", {}).get("name"),
        "external_network": res.get("external_network", {}).get("name"),
        "network_mode": _mode(built),
        "boot": _boot(topology, res),
        "placement": (built.get("placement") or {}).get("mode"),
        "networks": _networks(conn, built),
        "vms": {role: {"host": vm.get("host"), "host_id": vm.get("host_id"), "az": vm.get("az"),
                       "fixed_ip": vm.get("fixed_ip"), "floating_ip": vm.get("floating_ip"),
                       "fixed_ip6": vm.get("fixed_ip6")}
                for role, vm in built["vms"].items()},
        "vm_errors": dict(built["errors"]),
        "timings": dict(built["timings"]),
    })
    return meta
