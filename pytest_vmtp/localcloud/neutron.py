"""Neutron's resource logic: validation, IPAM, and the data-path calls each change needs.

Called with the state lock held by api/network.py and by the compute side (server ports).
Errors are Neutron's exception types and messages so clients show what a real cloud says.

Every resource belongs to a project (`project_id`, the token's unless an admin names another);
`caller` is who asks (policy.Caller). What a caller may not see is not found (404), as
Neutron's project-scoped queries make it: another project's network, subnet, port, router,
floating IP or security group, except shared and external networks (and their subnets when
shared), and ports on a network the caller owns. caller None: the cloud itself (bootstrap,
recovery), which sees everything.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from . import binding, ipam, quotas, security, segments
from .common import new_id, new_mac, now
from .dataplane.model import DhcpSpec, Ipv6Address, PortSpec
from .dataplane.nl import DataplaneError
from .errors import neutron
from .policy import Caller, neutron_refusal

if TYPE_CHECKING:
    from .context import Cloud

TENANT_MTU = 1450
EXTERNAL_MTU = 1500
ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
FLOATINGIP_OWNER = "network:floatingip"
DHCP_OWNER = "network:dhcp"
# Ports that take no automatic (SLAAC) address (neutron-lib ROUTER_INTERFACE_OWNERS_SNAT).
ROUTER_OWNERS = (ROUTER_INTERFACE, "network:router_interface_distributed",
                 "network:ha_router_replicated_interface", "network:router_centralized_snat")

NOT_FOUND_TYPES = {"networks": "NetworkNotFound", "subnets": "SubnetNotFound",
                   "ports": "PortNotFound", "routers": "RouterNotFound",
                   "floatingips": "FloatingIPNotFound",
                   "security_groups": "SecurityGroupNotFound",
                   "security_group_rules": "SecurityGroupRuleNotFound"}
_NICE = {"networks": "Network", "subnets": "Subnet", "ports": "Port", "routers": "Router",
         "floatingips": "Floating IP", "security_groups": "Security group",
         "security_group_rules": "Security group rule"}


def project_of(body: dict[str, Any], caller: Caller | None) -> str:
    """The project a new resource belongs to: named in the body (checked by policy), else the
    caller's; the cloud's own gateway and floating-IP ports belong to none (""), as Neutron's."""
    named = body.get("project_id", body.get("tenant_id"))
    return str(named) if named is not None else (caller.project_id if caller else "")


def standard(c: Cloud,  # noqa: ARG001 - the resource helpers all take the cloud
             body: dict[str, Any], caller: Caller | None) -> dict[str, Any]:
    """Fields every Neutron resource carries (standard-attr, project)."""
    stamp = now()
    project = project_of(body, caller)
    return {"id": new_id(), "tenant_id": project, "project_id": project,
            "description": str(body.get("description") or ""), "tags": [],
            "created_at": stamp, "updated_at": stamp, "revision_number": 0}


def touch(item: dict[str, Any]) -> None:
    item["updated_at"] = now()
    item["revision_number"] = item.get("revision_number", 0) + 1


def visible(c: Cloud, table: str, item: dict[str, Any], caller: Caller | None) -> bool:
    """May the caller see the item at all (Neutron's get_<resource> defaults)?"""
    if caller is None or caller.is_admin or caller.owns(item):
        return True
    nets = c.state.table("networks")
    if table == "networks":
        return bool(item["shared"] or item["router:external"])
    if table == "subnets":
        return bool(nets.get(item["network_id"], {}).get("shared"))
    if table == "ports":  # the network's owner sees the ports on it
        return caller.owns(nets.get(item["network_id"], {}))
    return False


def get(c: Cloud, table: str, item_id: str, caller: Caller | None = None) -> dict[str, Any]:
    item = c.state.table(table).get(item_id)
    if item is None or not visible(c, table, item, caller):
        raise neutron(404, NOT_FOUND_TYPES[table], f"{_NICE[table]} {item_id} could not be found.")
    return item


def owned(c: Cloud, table: str, item_id: str, caller: Caller | None, action: str
          ) -> dict[str, Any]:
    """An item the caller names in a create or update: visible (else 404) and the caller's
    project's (else Neutron's 403 for the action), unless the caller is an admin."""
    item = get(c, table, item_id, caller)
    if caller is not None and not caller.is_admin and not caller.owns(item):
        raise neutron_refusal([action])
    return item


def quota_check(c: Cloud, table: str, quota_name: str, project_id: str) -> None:
    """409 OverQuota when the project has `limit` of these already (-1: unlimited)."""
    limit = getattr(c.state.quotas_of(project_id), quota_name)
    if limit >= 0 and quotas.used_by(c, table, project_id) >= limit:
        raise neutron(409, "OverQuota", f"Quota exceeded for resources: ['{quota_name}'].")


def boolean(body: dict[str, Any], key: str, default: bool) -> bool:
    """body[key] as Neutron's convert_to_boolean reads it (true/false, 1/0, their strings),
    else its 400: a typo must not become True."""
    value = body.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise neutron(400, "HTTPBadRequest", f"Invalid input for {key}. Reason: '{value}' cannot be converted to boolean.")


def _booleans(body: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The body with its boolean attributes among keys checked and converted (updates)."""
    return {k: (boolean(body, k, False) if k in keys else v) for k, v in body.items()}


# --- networks -------------------------------------------------------------------------------

def create_network(c: Cloud, body: dict[str, Any], caller: Caller | None) -> dict[str, Any]:
    """A tenant (VXLAN) network, or with `provider:*` a provider network (segments.py)."""
    quota_check(c, "networks", "network", project_of(body, caller))
    external = boolean(body, "router:external", False)
    segment = segments.requested(c, body, external)
    net = standard(c, body, caller)
    vni = segment.segmentation_id if segment.network_type == "vxlan" else 0
    mtu = int(body.get("mtu") or (TENANT_MTU if segment.network_type == "vxlan" else EXTERNAL_MTU))
    net.update({
        "name": str(body.get("name") or ""), "admin_state_up": boolean(body, "admin_state_up", True),
        "status": "ACTIVE", "subnets": [], "shared": boolean(body, "shared", False),
        "router:external": external, "mtu": mtu,
        "port_security_enabled": boolean(body, "port_security_enabled", True),
        **segment.attributes(),
        "availability_zone_hints": [], "availability_zones": ["nova"],
        "ipv4_address_scope": None, "ipv6_address_scope": None, "is_default": False,
        "l2_adjacency": True, "_vni": vni,
    })
    try:
        c.dataplane.ensure_network(net["id"], vni or 0, mtu, external=external,
                                   provider=segment.provider())
    except Exception:
        c.dataplane.delete_network(net["id"])  # what was plugged on some hosts goes
        raise
    c.state.table("networks")[net["id"]] = net
    return net


def provider_gateway(c: Cloud, subnet: dict[str, Any]) -> bool:
    """Does this machine hold the subnet's gateway (a provider network's, see physnets.py)?"""
    net = c.state.table("networks").get(subnet["network_id"])
    return bool(net and subnet["gateway_ip"] and segments.of_network(net).provider())


def update_network(c: Cloud,  # noqa: ARG001 - every update handler takes the cloud
                   net: dict[str, Any], body: dict[str, Any],
                   caller: Caller | None) -> None:  # noqa: ARG001 - and the caller
    segments.check_update(net, body)
    body = _booleans(body, ("admin_state_up", "shared", "port_security_enabled"))
    for key in ("name", "description", "admin_state_up", "shared", "port_security_enabled"):
        if key in body:
            net[key] = body[key]
    touch(net)


def delete_network(c: Cloud, net_id: str) -> None:
    net = get(c, "networks", net_id)
    ports = c.state.table("ports")
    if any(p["network_id"] == net_id and p["device_owner"] != DHCP_OWNER
           for p in ports.values()):
        raise neutron(409, "NetworkInUse",
                      f"Unable to complete operation on network {net_id}. There are one or more "
                      "ports still in use on the network.")
    for port_id in [p["id"] for p in ports.values() if p["network_id"] == net_id]:
        del ports[port_id]  # its DHCP port
    for subnet_id in list(net["subnets"]):
        c.state.table("subnets").pop(subnet_id, None)
    c.dataplane.update_dhcp(net_id, None)
    c.dataplane.delete_network(net_id)
    del c.state.table("networks")[net_id]


# --- subnets --------------------------------------------------------------------------------

IPV6_MODES = ("dhcpv6-stateful", "dhcpv6-stateless", "slaac")  # neutron-lib's order
DHCPV6_MODES = ("dhcpv6-stateful", "dhcpv6-stateless")


def _ip_version(body: dict[str, Any]) -> int:
    version = body.get("ip_version", 4)
    if str(version) not in ("4", "6"):
        raise neutron(400, "HTTPBadRequest", f"Invalid input for ip_version. Reason: "
                      f"'{version}' is not in [4, 6].")
    return int(version)


def _ipv6_modes(body: dict[str, Any], version: int, cidr: ipaddress.IPv4Network |
                ipaddress.IPv6Network, enable_dhcp: bool) -> tuple[str | None, str | None]:
    """(ipv6_ra_mode, ipv6_address_mode), checked in Neutron's order and words
    (db_base_plugin_v2._validate_subnet and _validate_ipv6_attributes)."""
    modes: list[str | None] = []
    for key in ("ipv6_ra_mode", "ipv6_address_mode"):
        value = body.get(key)
        if value is not None and value not in IPV6_MODES:
            raise neutron(400, "HTTPBadRequest", f"Invalid input for {key}. Reason: '{value}' is "
                          f"not in {list(IPV6_MODES)}.")
        modes.append(value)
    ra_mode, address_mode = modes
    if version == 4:
        for key, value in (("ipv6_ra_mode", ra_mode), ("ipv6_address_mode", address_mode)):
            if value is not None:
                raise ipam.invalid(f"{key} is not valid when ip_version is 4")
        return None, None
    if (ra_mode or address_mode) and not enable_dhcp:
        raise ipam.invalid("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is "
                           "set to False")
    if ra_mode and address_mode and ra_mode != address_mode:
        raise ipam.invalid(f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to "
                           f"'{address_mode}' is not valid. If both attributes are set, they must "
                           "be the same value")
    auto = ipam.AUTO_ADDRESS_MODES
    if (ra_mode in auto or address_mode in auto) and cidr.prefixlen != 64:
        raise ipam.invalid(f"Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses the "
                           "EUI-64 address format, which requires the prefix to be /64")
    return ra_mode, address_mode


def create_subnet(c: Cloud, body: dict[str, Any], caller: Caller | None) -> dict[str, Any]:
    quota_check(c, "subnets", "subnet", project_of(body, caller))
    net = owned(c, "networks", str(body.get("network_id")), caller, "create_subnet")
    version = _ip_version(body)
    if "cidr" not in body:
        raise neutron(400, "BadRequest", "Bad subnets request: a cidr must be specified.")
    cidr = ipam.parse_cidr(body["cidr"], version)
    if str(cidr) != str(body["cidr"]).strip():
        raise neutron(400, "HTTPBadRequest", f"Invalid input for cidr. Reason: '{body['cidr']}' "
                      f"isn't a recognized IP subnet cidr, '{cidr}' is recommended.")
    enable_dhcp = boolean(body, "enable_dhcp", True)
    if version == 6 and enable_dhcp and cidr.prefixlen > 126:
        raise ipam.invalid("Subnet has a prefix length that is incompatible with DHCP service "
                           "enabled")
    subnets = c.state.table("subnets")
    siblings = [subnets[s]["cidr"] for s in net["subnets"]]
    if ipam.overlaps(cidr, siblings):
        raise neutron(400, "InvalidInput",
                      f"Invalid input for operation: Requested subnet with cidr: {cidr} for "
                      f"network: {net['id']} overlaps with another subnet.")
    if "gateway_ip" in body and body["gateway_ip"] is None:
        gateway = None
    elif body.get("gateway_ip"):
        gateway = str(ipam.parse_ip(body["gateway_ip"], cidr, "gateway_ip"))
    else:
        gateway = str(next(cidr.hosts()))
    dns = list(body.get("dns_nameservers") or [])
    for server in dns:
        try:
            server_version = ipaddress.ip_address(str(server)).version
        except ValueError:
            raise ipam.invalid(f"Error parsing dns address {server}") from None
        if server_version != version:
            raise ipam.invalid(f"dns_nameserver '{server}' does not match the ip_version "
                               f"'{version}'")
    ra_mode, address_mode = _ipv6_modes(body, version, cidr, enable_dhcp)
    pools = (ipam.check_pools(body["allocation_pools"], cidr) if body.get("allocation_pools")
             else ipam.default_pools(cidr, gateway))
    subnet = standard(c, body, caller)
    subnet.update({
        "name": str(body.get("name") or ""), "network_id": net["id"], "ip_version": version,
        "cidr": str(cidr), "gateway_ip": gateway, "allocation_pools": pools,
        "enable_dhcp": enable_dhcp, "dns_nameservers": dns,
        "host_routes": list(body.get("host_routes") or []), "ipv6_ra_mode": ra_mode,
        "ipv6_address_mode": address_mode, "subnetpool_id": None, "segment_id": None,
        "service_types": [], "dns_publish_fixed_ip": False,
    })
    if gateway and provider_gateway(c, subnet):
        if version == 6:
            raise segments.invalid(f"gateway_ip {gateway}: this machine is no IPv6 router of "
                                   "provider networks here; give gateway_ip null")
        try:  # this machine is the provider subnet's physical router
            c.dataplane.add_provider_gateway(net["id"], gateway, cidr.prefixlen)
        except DataplaneError as exc:
            raise segments.invalid(f"gateway_ip {gateway}: {exc}; give another cidr, or "
                                   "gateway_ip null for a subnet this machine does not reach") from None
    subnets[subnet["id"]] = subnet
    net["subnets"].append(subnet["id"])
    touch(net)
    if ipam.is_auto_address(subnet):  # every port of the network gets its EUI-64 address
        for port in c.state.table("ports").values():
            if port["network_id"] == net["id"] and port["device_owner"] not in ROUTER_OWNERS:
                port["fixed_ips"].append({"subnet_id": subnet["id"],
                                          "ip_address": ipam.eui64(str(cidr), port["mac_address"])})
    sync_dhcp(c, net["id"])
    return subnet


def update_subnet(c: Cloud, subnet: dict[str, Any], body: dict[str, Any],
                  caller: Caller | None) -> None:  # noqa: ARG001 - every update takes it
    if body.get("enable_dhcp") is False and (subnet["ipv6_ra_mode"] or subnet["ipv6_address_mode"]):
        raise ipam.invalid("Cannot disable enable_dhcp with ipv6 attributes set")
    for key in ("name", "description", "enable_dhcp", "dns_nameservers", "host_routes"):
        if key in body:
            subnet[key] = body[key]
    touch(subnet)
    if subnet["ip_version"] == 6:
        sync_dhcp(c, subnet["network_id"])


def delete_subnet(c: Cloud, subnet_id: str) -> None:
    subnet = get(c, "subnets", subnet_id)
    ports = c.state.table("ports").values()
    auto = ipam.is_auto_address(subnet)
    # Neutron: a DHCP port's address goes with the subnet, and so does an automatic (SLAAC)
    # address of any port but a router's.
    if any(ip["subnet_id"] == subnet_id for p in ports for ip in p["fixed_ips"]
           if p["device_owner"] != DHCP_OWNER and (not auto or p["device_owner"] in ROUTER_OWNERS)):
        raise neutron(409, "SubnetInUse",
                      f"Unable to complete operation on subnet {subnet_id}: One or more ports have "
                      "an IP allocation from this subnet.")
    for port in ports:
        port["fixed_ips"] = [ip for ip in port["fixed_ips"] if ip["subnet_id"] != subnet_id]
    net = c.state.table("networks").get(subnet["network_id"])
    if provider_gateway(c, subnet):
        c.dataplane.remove_provider_gateway(subnet["network_id"], subnet["gateway_ip"],
                                            ipam.prefixlen(subnet))
    if net and subnet_id in net["subnets"]:
        net["subnets"].remove(subnet_id)
    del c.state.table("subnets")[subnet_id]
    sync_dhcp(c, subnet["network_id"])


# --- DHCP (the DHCP agent's part) ------------------------------------------------------------

def _dhcpv6_subnets(c: Cloud, net_id: str) -> list[dict[str, Any]]:
    net = c.state.table("networks").get(net_id)
    subnets = c.state.table("subnets")
    return [subnets[s] for s in (net or {}).get("subnets", []) if subnets[s]["ip_version"] == 6
            and subnets[s]["enable_dhcp"] and subnets[s]["ipv6_address_mode"] in DHCPV6_MODES]


def sync_dhcp(c: Cloud, net_id: str) -> None:
    """Neutron's DHCP agent for IPv6: a network with DHCPv6 subnets (stateful: addresses,
    stateless: options only) has a network:dhcp port and a dnsmasq serving it (dataplane
    update_dhcp); SLAAC subnets need none. IPv4 addresses are set on the VMs directly, so no
    DHCPv4 server runs. Called after every change of the network's subnets or ports."""
    ports = c.state.table("ports")
    wanted = _dhcpv6_subnets(c, net_id)
    dhcp = next((p for p in ports.values() if p["network_id"] == net_id
                 and p["device_owner"] == DHCP_OWNER), None)
    if not wanted:
        if dhcp is not None:
            del ports[dhcp["id"]]
        if net_id in c.state.table("networks"):
            c.dataplane.update_dhcp(net_id, None)
        return
    if dhcp is None:
        owner = c.state.table("networks")[net_id]["project_id"]  # Neutron's: the network's
        dhcp = create_port(c, {"network_id": net_id, "device_owner": DHCP_OWNER,
                               "device_id": f"dhcp-{net_id}", "project_id": owner,
                               "fixed_ips": [{"subnet_id": s["id"]} for s in wanted]},
                           None, dhcp_sync=False)
    else:  # a DHCPv6 subnet added since: the port takes an address there too
        have = {ip["subnet_id"] for ip in dhcp["fixed_ips"]}
        for subnet in wanted:
            if subnet["id"] not in have and not ipam.is_auto_address(subnet):
                ip = ipam.allocate(subnet, _used_ips(c, subnet["id"]))
                if ip:
                    dhcp["fixed_ips"].append({"subnet_id": subnet["id"], "ip_address": ip})
    stateful = {s["id"] for s in wanted if s["ipv6_address_mode"] == "dhcpv6-stateful"}
    hosts = tuple(sorted((p["mac_address"], ip["ip_address"]) for p in ports.values()
                         if p["network_id"] == net_id and p["device_owner"] != DHCP_OWNER
                         for ip in p["fixed_ips"] if ip["subnet_id"] in stateful))
    dns = tuple(d for s in wanted for d in s["dns_nameservers"])
    c.dataplane.update_dhcp(net_id, DhcpSpec(
        port=port_spec(c, dhcp), hosts=hosts, dns_servers=dns,
        subnets=tuple((s["id"], s["cidr"], s["ipv6_address_mode"]) for s in wanted)))


# --- ports ----------------------------------------------------------------------------------

def _used_ips(c: Cloud, subnet_id: str) -> set[str]:
    used = {ip["ip_address"] for p in c.state.table("ports").values() for ip in p["fixed_ips"]
            if ip["subnet_id"] == subnet_id}
    gateway = c.state.table("subnets")[subnet_id]["gateway_ip"]
    return used | ({gateway} if gateway else set())


def _exhausted(net: dict[str, Any]) -> Exception:
    return neutron(409, "IpAddressGenerationFailure",
                   f"No more IP addresses available on network {net['id']}.")


def _fixed_ips(c: Cloud, net: dict[str, Any], wanted: Any, mac: str,
               owner: str) -> list[dict[str, str]]:
    """Neutron's IPAM for a new port (ipam_pluggable_backend): without fixed_ips, one address
    of an IPv4 subnet and one of a DHCPv6-stateful subnet; either way, unless it is a router's
    port, its EUI-64 address on every SLAAC / DHCPv6-stateless subnet of the network."""
    subnets = c.state.table("subnets")
    on_net = [subnets[s] for s in net["subnets"]]
    router = owner in ROUTER_OWNERS
    out: list[dict[str, str]] = []
    if wanted is None:
        v4 = [s for s in on_net if s["ip_version"] == 4]
        stateful = [s for s in on_net if s["ip_version"] == 6 and not ipam.is_auto_address(s)]
        for group in (v4, stateful):
            if not group:
                continue
            ip = next((a for a in (ipam.allocate(s, _used_ips(c, s["id"])) for s in group) if a),
                      None)
            if ip is None:
                raise _exhausted(net)
            subnet_id = next(s["id"] for s in group
                             if ipaddress.ip_address(ip) in ipaddress.ip_network(s["cidr"]))
            out.append({"subnet_id": subnet_id, "ip_address": ip})
    else:
        if not isinstance(wanted, list) or not all(isinstance(item, dict) for item in wanted):
            raise neutron(400, "HTTPBadRequest", f"Invalid input for fixed_ips. Reason: Invalid data "
                          f"format for fixed IP: '{wanted}'.")
        for item in wanted:
            subnet_id = item.get("subnet_id")
            ip = item.get("ip_address")
            if subnet_id is None and ip is not None:
                try:
                    address = ipaddress.ip_address(str(ip))
                except ValueError:
                    raise neutron(400, "HTTPBadRequest", f"Invalid input for fixed_ips. Reason: "
                                  f"'{ip}' is not a valid IP address.") from None
                subnet_id = next((s["id"] for s in on_net
                                  if address in ipaddress.ip_network(s["cidr"])), None)
                if subnet_id is None:
                    raise neutron(400, "InvalidIpForNetwork",
                                  f"IP address {ip} is not a valid IP for any of the subnets on "
                                  "the specified network.")
            if subnet_id not in net["subnets"]:
                raise neutron(400, "InvalidInput", f"Invalid input for operation: Failed to "
                              f"create port on network {net['id']}, because fixed_ips included "
                              f"invalid subnet {subnet_id}.")
            subnet = subnets[subnet_id]
            auto = ipam.is_auto_address(subnet) and not router
            if ip is None:
                if auto:
                    continue  # added below with the other automatic addresses
                ip = ipam.allocate(subnet, _used_ips(c, subnet_id))
                if ip is None:
                    raise _exhausted(net)
            else:
                ip = str(ipam.parse_ip(ip, ipaddress.ip_network(subnet["cidr"]), "ip_address"))
                if auto and ip != ipam.eui64(subnet["cidr"], mac):
                    raise neutron(400, "AllocationOnAutoAddressSubnet",
                                  f"IPv6 address {ip} cannot be directly assigned to a port on "
                                  f"subnet {subnet_id} as the subnet is configured for "
                                  "automatic addresses")
                used = {a["ip_address"] for p in c.state.table("ports").values()
                        for a in p["fixed_ips"] if a["subnet_id"] == subnet_id}
                if ip in used:
                    raise neutron(409, "IpAddressAlreadyAllocated",
                                  f"IP address {ip} already allocated in subnet {subnet_id}")
            out.append({"subnet_id": subnet_id, "ip_address": ip})
    if not router:
        done = {a["subnet_id"] for a in out}
        out += [{"subnet_id": s["id"], "ip_address": ipam.eui64(s["cidr"], mac)}
                for s in on_net if s["ip_version"] == 6 and ipam.is_auto_address(s)
                and s["id"] not in done]
    return out


def default_group(c: Cloud, project: str) -> dict[str, Any]:
    """The project's `default` security group, created on first use as Neutron does."""
    for group in c.state.table("security_groups").values():
        if group["name"] == "default" and group["project_id"] == project:
            return group
    owner = {"project_id": project}
    group = create_security_group(c, {"name": "default", "description": "Default security group",
                                      **owner}, None, check=False)
    for ethertype in ("IPv4", "IPv6"):
        create_rule(c, {"security_group_id": group["id"], "direction": "egress",
                        "ethertype": ethertype, **owner}, None, push=False)
        create_rule(c, {"security_group_id": group["id"], "direction": "ingress",
                        "ethertype": ethertype, "remote_group_id": group["id"], **owner}, None,
                    push=False)
    return group


def create_port(c: Cloud, body: dict[str, Any], caller: Caller | None, dhcp_sync: bool = True
                ) -> dict[str, Any]:
    """dhcp_sync: tell the network's DHCPv6 server of the new port (sync_dhcp)."""
    project = project_of(body, caller)
    quota_check(c, "ports", "port", project)
    net = get(c, "networks", str(body.get("network_id")), caller)
    ports = c.state.table("ports")
    mac = body.get("mac_address")
    taken = {p["mac_address"] for p in ports.values()}
    if mac and str(mac).lower() in taken:
        raise neutron(409, "MacAddressInUse", f"Unable to complete operation for network "
                      f"{net['id']}. The mac address {mac} is in use.")
    owner = str(body.get("device_owner") or "")
    port_security = boolean(body, "port_security_enabled", net["port_security_enabled"])
    groups = body.get("security_groups")
    if groups is None:
        groups = [default_group(c, project)["id"]] if port_security and not owner.startswith(
            "network:") else []
    for group_id in groups:
        get(c, "security_groups", group_id, caller)
    port = standard(c, body, caller)
    mac = str(mac).lower() if mac else new_mac(taken)
    port.update({
        "name": str(body.get("name") or ""), "network_id": net["id"],
        "mac_address": mac, "fixed_ips": _fixed_ips(c, net, body.get("fixed_ips"), mac, owner),
        "device_id": str(body.get("device_id") or ""), "device_owner": owner,
        "status": "ACTIVE" if owner.startswith("network:") else "DOWN",
        "admin_state_up": boolean(body, "admin_state_up", True),
        "security_groups": list(groups), "port_security_enabled": port_security,
        "allowed_address_pairs": list(body.get("allowed_address_pairs") or []),
        "extra_dhcp_opts": [], "binding:host_id": "", "binding:vif_type": binding.UNBOUND,
        "binding:vnic_type": binding.check_vnic_type(body.get("binding:vnic_type")),
        "binding:profile": {}, "binding:vif_details": {}, "dns_name": "",
        "dns_assignment": [], "ip_allocation": "immediate", "propagate_uplink_status": False,
    })
    if body.get("binding:host_id"):
        binding.bind(c, port, str(body["binding:host_id"]))
    ports[port["id"]] = port
    if dhcp_sync and _dhcpv6_subnets(c, net["id"]):
        sync_dhcp(c, net["id"])
    return port


def update_port(c: Cloud, port: dict[str, Any], body: dict[str, Any],
                caller: Caller | None) -> None:
    body = _booleans(body, ("admin_state_up", "port_security_enabled"))
    for key in ("name", "description", "admin_state_up", "device_id", "device_owner",
                "allowed_address_pairs"):
        if key in body:
            port[key] = body[key] if body[key] is not None else ""
    if "binding:host_id" in body:
        binding.bind(c, port, str(body["binding:host_id"] or ""))
    if "fixed_ips" in body:
        raise neutron(400, "BadRequest", "Updating fixed_ips is not supported by this cloud.")
    if "security_groups" in body or "port_security_enabled" in body:
        for group_id in body.get("security_groups") or []:
            get(c, "security_groups", group_id, caller)
        if "security_groups" in body:
            port["security_groups"] = list(body["security_groups"] or [])
        if "port_security_enabled" in body:
            port["port_security_enabled"] = bool(body["port_security_enabled"])
        security.push(c)
    touch(port)


def delete_port(c: Cloud, port_id: str, by_owner: bool = False) -> None:
    port = get(c, "ports", port_id)
    if not by_owner and port["device_owner"] in (ROUTER_INTERFACE, ROUTER_GATEWAY,
                                                 FLOATINGIP_OWNER):
        raise neutron(409, "PortInUse" if port["device_owner"] != ROUTER_INTERFACE
                      else "L3PortInUse",
                      f"Port {port_id} cannot be deleted directly via the port API: has device "
                      f"owner {port['device_owner']}.")
    for fip in c.state.table("floatingips").values():
        if fip["port_id"] == port_id:
            disassociate(c, fip)
    del c.state.table("ports")[port_id]
    if _dhcpv6_subnets(c, port["network_id"]):
        sync_dhcp(c, port["network_id"])
    security.push(c)


def port_spec(c: Cloud, port: dict[str, Any]) -> PortSpec:
    """The data path's view of a port: its first IPv4 address (with its subnet's prefix and
    gateway) and all of its IPv6 addresses with their subnets' modes."""
    subnets = c.state.table("subnets")
    net = c.state.table("networks")[port["network_id"]]
    v4 = [ip for ip in port["fixed_ips"] if subnets[ip["subnet_id"]]["ip_version"] == 4]
    v6 = tuple(Ipv6Address(ip=ip["ip_address"], cidr=(s := subnets[ip["subnet_id"]])["cidr"],
                           ra_mode=s["ipv6_ra_mode"], address_mode=s["ipv6_address_mode"])
               for ip in port["fixed_ips"] if subnets[ip["subnet_id"]]["ip_version"] == 6)
    first = subnets[v4[0]["subnet_id"]] if v4 else None
    return PortSpec(port_id=port["id"], network_id=port["network_id"], mac=port["mac_address"],
                    ip=v4[0]["ip_address"] if v4 else "",
                    prefixlen=ipam.prefixlen(first) if first else 0,
                    gateway=first["gateway_ip"] if first else None, mtu=net["mtu"], ipv6=v6,
                    vnic_type=port.get("binding:vnic_type") or "normal",
                    dhcp=bool(first.get("enable_dhcp", True)) if first else True)


# --- routers --------------------------------------------------------------------------------

def _router_ports(c: Cloud, router_id: str, owner: str) -> list[dict[str, Any]]:
    return [p for p in c.state.table("ports").values()
            if p["device_id"] == router_id and p["device_owner"] == owner]


def create_router(c: Cloud, body: dict[str, Any], caller: Caller | None) -> dict[str, Any]:
    quota_check(c, "routers", "router", project_of(body, caller))
    router = standard(c, body, caller)
    router.update({"name": str(body.get("name") or ""), "status": "ACTIVE",
                   "admin_state_up": boolean(body, "admin_state_up", True),
                   "external_gateway_info": None, "routes": [], "distributed": False,
                   "ha": False, "availability_zone_hints": [], "availability_zones": ["nova"],
                   "flavor_id": None, "enable_ndp_proxy": False})
    c.dataplane.create_router(router["id"])
    c.state.table("routers")[router["id"]] = router
    try:
        if body.get("external_gateway_info"):
            set_gateway(c, router, body["external_gateway_info"], caller)
    except Exception:
        c.dataplane.delete_router(router["id"])
        del c.state.table("routers")[router["id"]]
        raise
    return router


def set_gateway(c: Cloud, router: dict[str, Any], info: Any, caller: Caller | None) -> None:
    if not info:
        clear_gateway(c, router)
        return
    if not isinstance(info, dict) or "network_id" not in info:
        raise neutron(400, "HTTPBadRequest", "Invalid input for external_gateway_info.")
    net = get(c, "networks", str(info["network_id"]), caller)
    if not net["router:external"]:
        raise neutron(400, "BadRequest", f"Bad router request: Network {net['id']} is not an "
                      "external network.")
    snat = bool(info.get("enable_snat", True))
    current = router["external_gateway_info"]
    if current and current["network_id"] == net["id"]:
        if current["enable_snat"] != snat:
            ip = current["external_fixed_ips"][0]
            subnet = c.state.table("subnets")[ip["subnet_id"]]
            c.dataplane.set_router_gateway(router["id"], ip["ip_address"], ipam.prefixlen(subnet),
                                           subnet["gateway_ip"], snat)
            current["enable_snat"] = snat
        return
    if current:
        clear_gateway(c, router)
    port = create_port(c, {"network_id": net["id"], "device_id": router["id"],
                           "device_owner": ROUTER_GATEWAY, "project_id": "",
                           "fixed_ips": info.get("external_fixed_ips")}, None)
    ip = port["fixed_ips"][0]
    subnet = c.state.table("subnets")[ip["subnet_id"]]
    try:
        c.dataplane.set_router_gateway(router["id"], ip["ip_address"], ipam.prefixlen(subnet),
                                       subnet["gateway_ip"], snat)
    except Exception:
        del c.state.table("ports")[port["id"]]
        raise
    router["external_gateway_info"] = {"network_id": net["id"], "enable_snat": snat,
                                       "external_fixed_ips": port["fixed_ips"]}
    touch(router)
    c.poke_faults()


def clear_gateway(c: Cloud, router: dict[str, Any]) -> None:
    info = router["external_gateway_info"]
    if not info:
        return
    if any(f["router_id"] == router["id"] for f in c.state.table("floatingips").values()):
        raise neutron(409, "RouterExternalGatewayInUseByFloatingIp",
                      f"Gateway cannot be updated for router {router['id']}, since a gateway to "
                      f"external network {info['network_id']} is required by one or more "
                      "floating IPs.")
    c.dataplane.clear_router_gateway(router["id"])
    for port in _router_ports(c, router["id"], ROUTER_GATEWAY):
        del c.state.table("ports")[port["id"]]
    router["external_gateway_info"] = None
    touch(router)


def update_router(c: Cloud, router: dict[str, Any], body: dict[str, Any],
                  caller: Caller | None) -> None:
    body = _booleans(body, ("admin_state_up",))
    for key in ("name", "description", "admin_state_up"):
        if key in body:
            router[key] = body[key]
    if "external_gateway_info" in body:
        set_gateway(c, router, body["external_gateway_info"], caller)
    touch(router)


def delete_router(c: Cloud, router_id: str) -> None:
    router = get(c, "routers", router_id)
    if _router_ports(c, router_id, ROUTER_INTERFACE):
        raise neutron(409, "RouterInUse", f"Router {router_id} still has ports")
    clear_gateway(c, router)
    c.dataplane.delete_router(router_id)
    del c.state.table("routers")[router_id]
    c.poke_faults()


def add_interface(c: Cloud, router: dict[str, Any], body: dict[str, Any],
                  caller: Caller | None) -> dict[str, Any]:
    subnets = c.state.table("subnets")
    if body.get("port_id"):
        port = owned(c, "ports", str(body["port_id"]), caller, "add_router_interface")
        if port["device_id"]:
            raise neutron(409, "PortInUse", f"Unable to complete operation on port "
                          f"{port['id']} for network {port['network_id']}. Port already has an "
                          f"attached device {port['device_id']}.")
        if not port["fixed_ips"]:
            raise neutron(400, "BadRequest", "Bad router request: Router port must have at "
                          "least one fixed IP.")
        created = False
    elif body.get("subnet_id"):
        subnet = owned(c, "subnets", str(body["subnet_id"]), caller, "add_router_interface")
        if not subnet["gateway_ip"]:
            raise neutron(400, "BadRequest", "Bad router request: Subnet for router interface "
                          "must have a gateway IP.")
        if provider_gateway(c, subnet):
            raise neutron(400, "BadRequest", f"Bad router request: the gateway "
                          f"{subnet['gateway_ip']} of provider subnet {subnet['id']} is this "
                          "machine's (the physical router): attach the router with a port of "
                          "its own (port_id).")
        port = None
        created = True
    else:
        raise neutron(400, "BadRequest", "Bad router request: Either subnet_id or port_id must "
                      "be specified.")
    new_subnet_id = port["fixed_ips"][0]["subnet_id"] if port else subnet["id"]
    new_cidr = ipaddress.ip_network(subnets[new_subnet_id]["cidr"])
    for existing in _router_ports(c, router["id"], ROUTER_INTERFACE):
        sid = existing["fixed_ips"][0]["subnet_id"]
        if sid == new_subnet_id:
            raise neutron(400, "BadRequest", f"Bad router request: Router already has a port on "
                          f"subnet {sid}.")
        other = ipaddress.ip_network(subnets[sid]["cidr"])
        if other.version == new_cidr.version and new_cidr.overlaps(other):
            raise neutron(400, "BadRequest", f"Bad router request: Cidr {new_cidr} of subnet "
                          f"{new_subnet_id} overlaps with cidr {subnets[sid]['cidr']} of subnet "
                          f"{sid}.")
    if port is None:
        port = create_port(c, {"network_id": subnet["network_id"],
                               "fixed_ips": [{"subnet_id": subnet["id"],
                                              "ip_address": subnet["gateway_ip"]}],
                               "device_owner": ROUTER_INTERFACE, "device_id": router["id"],
                               "project_id": router["project_id"]}, None)
    else:
        port.update({"device_owner": ROUTER_INTERFACE, "device_id": router["id"],
                     "status": "ACTIVE"})
    try:
        c.dataplane.add_router_interface(router["id"], port_spec(c, port))
    except Exception:
        if created:
            del c.state.table("ports")[port["id"]]
        else:
            port.update({"device_owner": "", "device_id": ""})
        raise
    touch(router)
    c.poke_faults()
    return _interface_info(router, port)


def _interface_info(router: dict[str, Any], port: dict[str, Any]) -> dict[str, Any]:
    subnet_id = port["fixed_ips"][0]["subnet_id"]
    return {"id": router["id"], "tenant_id": router["tenant_id"],
            "project_id": router["project_id"], "port_id": port["id"], "subnet_id": subnet_id,
            "subnet_ids": [subnet_id], "network_id": port["network_id"], "tags": []}


def remove_interface(c: Cloud, router: dict[str, Any], body: dict[str, Any],
                     caller: Caller | None) -> dict[str, Any]:  # noqa: ARG001 - as add
    ports = _router_ports(c, router["id"], ROUTER_INTERFACE)
    if body.get("port_id"):
        port = next((p for p in ports if p["id"] == body["port_id"]), None)
        if port is None:
            raise neutron(404, "RouterInterfaceNotFound", f"Router {router['id']} does not have "
                          f"an interface with id {body['port_id']}")
    elif body.get("subnet_id"):
        port = next((p for p in ports if p["fixed_ips"][0]["subnet_id"] == body["subnet_id"]),
                    None)
        if port is None:
            raise neutron(404, "RouterInterfaceNotFoundForSubnet", f"Router {router['id']} has no "
                          f"interface on subnet {body['subnet_id']}")
    else:
        raise neutron(400, "BadRequest", "Bad router request: Either subnet_id or port_id must "
                      "be specified.")
    subnet_id = port["fixed_ips"][0]["subnet_id"]
    cidr = ipaddress.ip_network(c.state.table("subnets")[subnet_id]["cidr"])
    for fip in c.state.table("floatingips").values():
        if fip["router_id"] == router["id"] and fip["fixed_ip_address"] and \
                ipaddress.IPv4Address(fip["fixed_ip_address"]) in cidr:
            raise neutron(409, "RouterInterfaceInUseByFloatingIP",
                          f"Router interface for subnet {subnet_id} on router {router['id']} "
                          "cannot be deleted, as it is required by one or more floating IPs.")
    c.dataplane.remove_router_interface(router["id"], port["id"])
    info = _interface_info(router, port)
    del c.state.table("ports")[port["id"]]
    touch(router)
    c.poke_faults()
    return info


# --- floating IPs ---------------------------------------------------------------------------

def create_floatingip(c: Cloud, body: dict[str, Any], caller: Caller | None) -> dict[str, Any]:
    quota_check(c, "floatingips", "floatingip", project_of(body, caller))
    net = get(c, "networks", str(body.get("floating_network_id")), caller)
    if not net["router:external"]:
        raise neutron(400, "BadRequest", f"Bad floatingip request: Network {net['id']} is not a "
                      "valid external network.")
    fip = standard(c, body, caller)
    wanted = ([{"ip_address": body["floating_ip_address"]}] if body.get("floating_ip_address")
              else ([{"subnet_id": body["subnet_id"]}] if body.get("subnet_id") else None))
    port = create_port(c, {"network_id": net["id"], "device_id": fip["id"], "project_id": "",
                           "device_owner": FLOATINGIP_OWNER, "fixed_ips": wanted}, None)
    fip.update({"floating_network_id": net["id"],
                "floating_ip_address": port["fixed_ips"][0]["ip_address"],
                "router_id": None, "port_id": None, "fixed_ip_address": None, "status": "DOWN",
                "port_details": None, "port_forwardings": [], "qos_policy_id": None,
                "dns_domain": "", "dns_name": "", "_port": port["id"]})
    c.state.table("floatingips")[fip["id"]] = fip
    try:
        if body.get("port_id"):
            associate(c, fip, str(body["port_id"]), body.get("fixed_ip_address"), caller)
    except Exception:
        del c.state.table("floatingips")[fip["id"]]
        del c.state.table("ports")[port["id"]]
        raise
    return fip


def associate(c: Cloud, fip: dict[str, Any], port_id: str, fixed_ip: Any,
              caller: Caller | None) -> None:
    port = get(c, "ports", port_id, caller)
    if not port["fixed_ips"]:
        raise neutron(400, "BadRequest", f"Bad floatingip request: Port {port_id} does not have "
                      "any fixed IP address.")
    ip = next((a for a in port["fixed_ips"] if fixed_ip in (None, a["ip_address"])
               and (fixed_ip is not None or ipaddress.ip_address(a["ip_address"]).version == 4)),
              None)
    if ip is None:
        if fixed_ip is None:  # floating IPs are IPv4: Neutron NATs no IPv6 address
            raise neutron(400, "BadRequest", f"Bad floatingip request: Port {port_id} does not "
                          "have any fixed IPv4 address.")
        raise neutron(400, "BadRequest", f"Bad floatingip request: Port {port_id} does not have "
                      f"fixed ip {fixed_ip}.")
    if ipaddress.ip_address(ip["ip_address"]).version != 4:
        raise neutron(400, "BadRequest", f"Bad floatingip request: Cannot process floating IP "
                      f"association with {fixed_ip}, since that is not an IPv4 address.")
    for other in c.state.table("floatingips").values():
        if other["id"] != fip["id"] and other["port_id"] == port_id and \
                other["fixed_ip_address"] == ip["ip_address"]:
            raise neutron(409, "FloatingIPPortAlreadyAssociated",
                          f"Cannot associate floating IP {fip['floating_ip_address']} "
                          f"({fip['id']}) with port {port_id} using fixed IP {ip['ip_address']}, "
                          f"as that fixed IP already has a floating IP on external network "
                          f"{other['floating_network_id']}.")
    router = _router_for(c, fip["floating_network_id"], ip["subnet_id"])
    if router is None:
        raise neutron(404, "ExternalGatewayForFloatingIPNotFound",
                      f"External network {fip['floating_network_id']} is not reachable from "
                      f"subnet {ip['subnet_id']}.  Therefore, cannot associate Port {port_id} "
                      "with a Floating IP.")
    if fip["port_id"]:
        disassociate(c, fip)
    c.dataplane.add_floating_ip(router, fip["floating_ip_address"], ip["ip_address"])
    fip.update({"port_id": port_id, "fixed_ip_address": ip["ip_address"], "router_id": router,
                "status": "ACTIVE",
                "port_details": {"name": port["name"], "network_id": port["network_id"],
                                 "mac_address": port["mac_address"],
                                 "admin_state_up": port["admin_state_up"],
                                 "status": port["status"], "device_id": port["device_id"],
                                 "device_owner": port["device_owner"]}})
    touch(fip)


def _router_for(c: Cloud, external_net: str, subnet_id: str) -> str | None:
    for router in c.state.table("routers").values():
        info = router["external_gateway_info"]
        if not info or info["network_id"] != external_net:
            continue
        if any(p["fixed_ips"][0]["subnet_id"] == subnet_id
               for p in _router_ports(c, router["id"], ROUTER_INTERFACE)):
            return router["id"]
    return None


def disassociate(c: Cloud, fip: dict[str, Any]) -> None:
    if fip["router_id"]:
        c.dataplane.remove_floating_ip(fip["router_id"], fip["floating_ip_address"])
    fip.update({"port_id": None, "fixed_ip_address": None, "router_id": None, "status": "DOWN",
                "port_details": None})
    touch(fip)


def update_floatingip(c: Cloud, fip: dict[str, Any], body: dict[str, Any],
                      caller: Caller | None) -> None:
    if "description" in body:
        fip["description"] = str(body["description"] or "")
    if "port_id" in body:
        if body["port_id"]:
            associate(c, fip, str(body["port_id"]), body.get("fixed_ip_address"), caller)
        elif fip["port_id"]:
            disassociate(c, fip)
    touch(fip)


def delete_floatingip(c: Cloud, fip_id: str) -> None:
    fip = get(c, "floatingips", fip_id)
    if fip["port_id"]:
        disassociate(c, fip)
    c.state.table("ports").pop(fip["_port"], None)
    del c.state.table("floatingips")[fip_id]


# --- security groups ------------------------------------------------------------------------

def create_security_group(c: Cloud, body: dict[str, Any], caller: Caller | None,
                          check: bool = True) -> dict[str, Any]:
    project = project_of(body, caller)
    if check:
        quota_check(c, "security_groups", "security_group", project)
        if body.get("name") == "default":
            raise neutron(409, "SecurityGroupDefaultAlreadyExists",
                          "Default security group already exists.")
    group = standard(c, body, caller)
    group.update({"name": str(body.get("name") or ""), "security_group_rules": [],
                  "stateful": boolean(body, "stateful", True), "shared": False})
    c.state.table("security_groups")[group["id"]] = group
    if check:
        default_group(c, project)
        for ethertype in ("IPv4", "IPv6"):
            create_rule(c, {"security_group_id": group["id"], "direction": "egress",
                            "ethertype": ethertype, "project_id": project}, None, push=False)
    return group


def delete_security_group(c: Cloud, group_id: str) -> None:
    group = get(c, "security_groups", group_id)
    if group["name"] == "default":
        raise neutron(409, "SecurityGroupCannotRemoveDefault",
                      "Insufficient rights for removing default security group.")
    if any(group_id in (p.get("security_groups") or []) for p in c.state.table("ports").values()):
        raise neutron(409, "SecurityGroupInUse", f"Security Group {group_id} in use.")
    rules = c.state.table("security_group_rules")
    for rule_id in [r["id"] for r in rules.values() if r["security_group_id"] == group_id]:
        del rules[rule_id]
    del c.state.table("security_groups")[group_id]
    security.push(c)


_RULE_KEYS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
              "remote_ip_prefix", "remote_group_id")


def create_rule(c: Cloud, body: dict[str, Any], caller: Caller | None, push: bool = True
                ) -> dict[str, Any]:
    group = get(c, "security_groups", str(body.get("security_group_id")), caller)
    body = {"project_id": group["project_id"], **body}  # a rule is its group's
    direction = body.get("direction")
    if direction not in ("ingress", "egress"):
        raise neutron(400, "HTTPBadRequest", f"Invalid input for direction. Reason: {direction} "
                      "is not in valid_values.")
    ethertype = body.get("ethertype") or "IPv4"
    if ethertype not in ("IPv4", "IPv6"):
        raise neutron(400, "HTTPBadRequest", f"Invalid input for ethertype. Reason: {ethertype} "
                      "is not in valid_values.")
    protocol = body.get("protocol")
    if protocol is not None:
        protocol = str(protocol).lower()
        if protocol == "any":
            protocol = None
    low, high = body.get("port_range_min"), body.get("port_range_max")
    try:
        low = int(low) if low is not None else None
        high = int(high) if high is not None else None
    except (TypeError, ValueError):
        raise neutron(400, "HTTPBadRequest", "Invalid input for port_range_min/port_range_max.") from None
    if protocol in ("tcp", "udp", "6", "17") and low is not None and high is not None and \
            low > high:
        raise neutron(400, "SecurityGroupInvalidPortRange",
                      "For TCP/UDP protocols, port_range_min must be <= port_range_max")
    if low is not None and protocol is None:
        raise neutron(400, "SecurityGroupProtocolRequiredWithPorts",
                      "Must also specify protocol if port range is given.")
    prefix = body.get("remote_ip_prefix")
    if prefix is not None:
        try:
            prefix = str(ipaddress.ip_network(str(prefix), strict=False))
        except ValueError:
            raise neutron(400, "HTTPBadRequest", f"Invalid input for remote_ip_prefix. Reason: "
                          f"'{prefix}' is not a valid IP subnet.") from None
    remote_group = body.get("remote_group_id")
    if remote_group:
        get(c, "security_groups", str(remote_group), caller)
    if prefix and remote_group:
        raise neutron(400, "SecurityGroupRemoteGroupAndRemoteIpPrefix",
                      "Only remote_ip_prefix or remote_group_id may be provided.")
    rule = standard(c, body, caller)
    rule.update({"security_group_id": group["id"], "direction": direction,
                 "ethertype": ethertype, "protocol": protocol, "port_range_min": low,
                 "port_range_max": high, "remote_ip_prefix": prefix,
                 "remote_group_id": remote_group or None, "remote_address_group_id": None,
                 "normalized_cidr": prefix, "belongs_to_default_sg": group["name"] == "default"})
    rules = c.state.table("security_group_rules")
    for other in rules.values():
        if other["security_group_id"] == group["id"] and \
                all(other[k] == rule[k] for k in _RULE_KEYS):
            raise neutron(409, "SecurityGroupRuleExists",
                          f"Security group rule already exists. Rule id is {other['id']}.")
    quota_check(c, "security_group_rules", "security_group_rule", rule["project_id"])
    rules[rule["id"]] = rule
    touch(group)
    if push:
        security.push(c)
    return rule


def delete_rule(c: Cloud, rule_id: str) -> None:
    get(c, "security_group_rules", rule_id)
    del c.state.table("security_group_rules")[rule_id]
    security.push(c)


def group_view(c: Cloud, group: dict[str, Any]) -> dict[str, Any]:
    rules = [public(r) for r in c.state.table("security_group_rules").values()
             if r["security_group_id"] == group["id"]]
    return {**public(group), "security_group_rules": rules}


def public(item: dict[str, Any]) -> dict[str, Any]:
    """The API view: internal bookkeeping keys start with an underscore."""
    return {k: v for k, v in item.items() if not k.startswith("_")}
