"""Nova's config drive: what a server booted with config_drive=true finds on it.

Files under openstack/latest/, as Nova writes them (only the `latest` version directory):
meta_data.json (uuid, name, hostname, keys, metadata, zone, project), network_data.json (links
= the ports, networks = static addresses where the subnet has no DHCP, `ipv4_dhcp` where it
has, DNS services), user_data (decoded, when the server has any), vendor_data.json and
vendor_data2.json (empty). This cloud has no metadata service: the drive is the only way a
VM learns them.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from .state import Resource

if TYPE_CHECKING:
    from .context import Cloud

LATEST = "openstack/latest"
DHCP_DOMAIN = "novalocal"  # Nova's default dhcp_domain


def _hostname(name: str) -> str:
    """Nova's sanitised hostname: lower case, letters, digits and dashes."""
    host = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return host[:63] or "server"


def meta_data(c: Cloud, server: Resource) -> dict[str, Any]:
    keypair = c.state.table("keypairs").get(f"{server['user_id']}/{server.get('key_name') or ''}")
    doc: dict[str, Any] = {
        "uuid": server["id"], "name": server["name"],
        "hostname": f"{_hostname(server['name'])}.{DHCP_DOMAIN}", "launch_index": 0,
        "availability_zone": server["OS-EXT-AZ:availability_zone"],
        "project_id": server["tenant_id"], "meta": dict(server.get("metadata") or {}),
        "random_seed": base64.b64encode(secrets.token_bytes(512)).decode(), "devices": [],
        "dedicated_cpus": [],
    }
    if keypair is not None:
        doc["public_keys"] = {keypair["name"]: keypair["public_key"]}
        doc["keys"] = [{"name": keypair["name"], "type": keypair["type"], "data": keypair["public_key"]}]
    return doc


def network_data(c: Cloud, ports: list[Resource]) -> dict[str, Any]:
    """Nova's netutils.get_network_metadata over the server's ports, in order (the first IPv4
    address of each; IPv6 networks are not written: this cloud's guests learn them from
    router advertisements and DHCPv6)."""
    subnets, networks = c.state.table("subnets"), c.state.table("networks")
    links: list[dict[str, Any]] = []
    nets: list[dict[str, Any]] = []
    services: list[dict[str, str]] = []
    for port in ports:
        v4 = [ip for ip in port["fixed_ips"] if subnets[ip["subnet_id"]].get("ip_version", 4) == 4]
        if not v4:
            continue  # IPv6 only: the guest learns it from router advertisements and DHCPv6
        subnet = subnets[v4[0]["subnet_id"]]
        link_id = "tap" + port["id"][:11]
        links.append({"id": link_id, "vif_id": port["id"], "type": port["binding:vif_type"],
                      "mtu": networks[port["network_id"]]["mtu"],
                      "ethernet_mac_address": port["mac_address"]})
        net: dict[str, Any] = {"id": f"network{len(nets)}", "link": link_id,
                               "network_id": port["network_id"]}
        if subnet.get("enable_dhcp", True):
            net["type"] = "ipv4_dhcp"
        else:
            cidr = ipaddress.IPv4Network(subnet["cidr"])
            routes = [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": subnet["gateway_ip"]}] \
                if subnet["gateway_ip"] else []
            for route in subnet.get("host_routes") or []:
                target = ipaddress.IPv4Network(route["destination"])
                routes.append({"network": str(target.network_address), "netmask": str(target.netmask),
                               "gateway": route["nexthop"]})
            net.update({"type": "ipv4", "ip_address": v4[0]["ip_address"],
                        "netmask": str(cidr.netmask), "routes": routes})
        nets.append(net)
        services += [s for s in ({"type": "dns", "address": a} for a in subnet.get("dns_nameservers") or [])
                     if s not in services]
    return {"links": links, "networks": nets, "services": services}


def files(c: Cloud, server: Resource, ports: list[Resource]) -> tuple[tuple[str, bytes], ...]:
    """The drive's files (path -> content) for the server and its ports in order, () when it
    has no config drive (state lock held)."""
    if server.get("config_drive") != "True":
        return ()
    out = [(f"{LATEST}/meta_data.json", json.dumps(meta_data(c, server)).encode()),
           (f"{LATEST}/network_data.json", json.dumps(network_data(c, ports)).encode()),
           (f"{LATEST}/vendor_data.json", b"{}"), (f"{LATEST}/vendor_data2.json", b"{}")]
    if server.get("_user_data"):
        out.append((f"{LATEST}/user_data", base64.b64decode(server["_user_data"])))
    return tuple(out)
