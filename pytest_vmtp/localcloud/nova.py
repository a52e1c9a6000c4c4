"""Nova's resource logic: keypairs, servers (validate, schedule, build ports or roll back),
server groups and host usage. api/compute.py is the HTTP side (microversions, views).

Called with the state lock held, as neutron.py is. Errors are Nova's status codes and
messages so clients show what a real cloud says. Booting itself runs in builder.py.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import builder, keys, neutron, quotas, scheduler
from .common import new_id, now
from .errors import ApiError, nova
from .state import Resource

if TYPE_CHECKING:
    from .context import Cloud

COMPUTE_OWNER = "compute:nova"
_KEYPAIR_NAME = re.compile(r"[A-Za-z0-9 _.@-]{1,255}")
_POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")


def _ref_id(ref: object) -> str:
    """The id at the end of a flavorRef/imageRef, which may be a URL."""
    return str(ref).rstrip("/").rsplit("/", 1)[-1]


# --- flavors --------------------------------------------------------------------------------

def get_flavor(c: Cloud, flavor_id: str) -> Resource:
    flavor = c.state.table("flavors").get(str(flavor_id))
    if flavor is None:
        raise nova(404, f"Flavor {flavor_id} could not be found.")
    return flavor


# --- keypairs -------------------------------------------------------------------------------

def create_keypair(c: Cloud, body: dict[str, Any]) -> tuple[Resource, str | None]:
    """(keypair, private key when Nova generated it) for a POST os-keypairs body."""
    name = body.get("name")
    if not isinstance(name, str) or not _KEYPAIR_NAME.fullmatch(name):
        raise nova(400, "Keypair data is invalid: Keypair name contains unsafe characters")
    table = c.state.table("keypairs")
    if name in table:
        raise nova(409, f"Key pair '{name}' already exists.")
    if len(table) >= c.state.quotas.key_pairs:
        raise nova(403, "Quota exceeded, too many key pairs.")
    private = None
    public = body.get("public_key")
    if public:
        fingerprint = keys.fingerprint(str(public))
        if fingerprint is None:
            raise nova(400, "Keypair data is invalid: failed to generate fingerprint")
    else:
        public, private = keys.generate("Generated-by-Nova")
        fingerprint = keys.fingerprint(public)
    keypair = {"id": len(table) + 1, "name": name, "public_key": str(public).strip(),
               "fingerprint": fingerprint, "type": body.get("type", "ssh"),
               "user_id": c.state.identity.user_id, "created_at": now()}
    table[name] = keypair
    return keypair, private


def get_keypair(c: Cloud, name: str) -> Resource:
    keypair = c.state.table("keypairs").get(name)
    if keypair is None:
        raise nova(404, f"Keypair {name} not found for user {c.state.identity.user_id}")
    return keypair


def delete_keypair(c: Cloud, name: str) -> None:
    get_keypair(c, name)
    del c.state.table("keypairs")[name]


# --- servers: reading -----------------------------------------------------------------------

def get_server(c: Cloud, server_id: str) -> Resource:
    server = c.state.table("servers").get(server_id)
    if server is None:
        raise nova(404, f"Instance {server_id} could not be found.")
    return server


def addresses(c: Cloud, server_id: str) -> dict[str, list[dict[str, Any]]]:
    """Nova's `addresses`: per network name, each fixed IP then its floating IP."""
    out: dict[str, list[dict[str, Any]]] = {}
    networks = c.state.table("networks")
    fips = c.state.table("floatingips").values()
    for port in builder.ordered_ports(c, c.state.table("servers")[server_id]):
        name = networks.get(port["network_id"], {}).get("name") or port["network_id"]
        entries = out.setdefault(name, [])
        for ip in port["fixed_ips"]:
            entries.append({"version": ipaddress.ip_address(ip["ip_address"]).version,
                            "addr": ip["ip_address"], "OS-EXT-IPS:type": "fixed",
                            "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
            for fip in fips:
                if fip["port_id"] == port["id"] and fip["fixed_ip_address"] == ip["ip_address"]:
                    entries.append({"version": 4, "addr": fip["floating_ip_address"],
                                    "OS-EXT-IPS:type": "floating",
                                    "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
    return out


# --- servers: create ------------------------------------------------------------------------

@dataclass
class BootRequest:
    """A validated POST /servers: what to build, before a host or a port is chosen."""

    name: str
    flavor: Resource
    image_id: str
    key_name: str | None
    security_group_names: list[str]
    security_group_ids: list[str]
    forced_host: str | None
    zone: str | None  # the availability zone asked for (without a host: any host in it)
    group: Resource | None
    networks: list[dict[str, Any]]  # {"uuid": net, "fixed_ip": ip} or {"port": port}
    metadata: dict[str, str]
    description: str | None
    tags: list[str]


def create_server(c: Cloud, body: dict[str, Any], hints: dict[str, Any]) -> Resource:
    """Validate, check quota, schedule, make ports, record the server, start its boot.

    No valid host is not an error of the call: the server exists, in ERROR, as in Nova."""
    request = validate(c, body, hints)
    check_quota(c, request.flavor)
    check_request_quotas(c, request)
    server_id = new_id()
    host, no_host = schedule(c, request)
    ports, created = build_ports(c, server_id, host, request)
    server = _record(c, server_id, request, host, ports, created)
    if no_host:
        builder.fail_server(c, server, 500, no_host)
    else:
        builder.boot(c, server_id)
    return server


def validate(c: Cloud, body: dict[str, Any], hints: dict[str, Any]) -> BootRequest:
    """Every reference in the request must exist: 400 (or 409) naming the first that does not."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise nova(400, "Invalid input for field/attribute name.")
    flavor = c.state.table("flavors").get(_ref_id(body.get("flavorRef", "")))
    if flavor is None:
        raise nova(400, f"Flavor {body.get('flavorRef')} could not be found.")
    image_id = _ref_id(body.get("imageRef", ""))
    if image_id not in c.state.table("images"):
        raise nova(400, f"Image {body.get('imageRef')} could not be found.")
    key_name = body.get("key_name")
    if key_name and key_name not in c.state.table("keypairs"):
        raise nova(400, "Invalid key_name provided.")
    group_names, group_ids = _security_groups(c, body.get("security_groups"))
    forced, zone = scheduler.parse_zone(body.get("availability_zone"), c.state.zones)
    group = None
    if hints.get("group"):
        group = c.state.table("server_groups").get(hints["group"])
        if group is None:
            raise nova(400, f"Invalid server group {hints['group']}")
    networks = _requested_networks(c, body.get("networks"))
    return BootRequest(
        name=name, flavor=flavor, image_id=image_id, key_name=key_name or None,
        security_group_names=group_names, security_group_ids=group_ids, forced_host=forced,
        zone=zone, group=group, networks=networks,
        metadata={str(k): str(v) for k, v in (body.get("metadata") or {}).items()},
        description=body.get("description"), tags=[str(t) for t in body.get("tags") or []])


def _security_groups(c: Cloud, refs: list[object] | None) -> tuple[list[str], list[str]]:
    """(names, ids) of the requested groups (by name or id); the project's default if none."""
    neutron.default_group(c)
    groups = c.state.table("security_groups")
    names: list[str] = []
    ids: list[str] = []
    for ref in refs or [{"name": "default"}]:
        wanted = ref.get("name") if isinstance(ref, dict) else None
        found = next((g for g in groups.values() if wanted in (g["id"], g["name"])), None)
        if found is None:
            raise nova(400, f"Security group {wanted} not found for project "
                            f"{c.state.identity.project_id}.")
        names.append(found["name"])
        ids.append(found["id"])
    return names, ids


def _requested_networks(c: Cloud, spec: object) -> list[dict[str, Any]]:
    networks = c.state.table("networks")
    if spec in (None, "auto"):
        tenant = [n for n in networks.values() if not n["router:external"]]
        if len(tenant) != 1:
            raise nova(409 if tenant else 400, "Multiple possible networks found, use a Network "
                       "ID to be more specific." if tenant else "No networks available.")
        return [{"uuid": tenant[0]["id"]}]
    if spec == "none":
        return []
    if not isinstance(spec, list):
        raise nova(400, "Invalid input for field/attribute networks.")
    for item in spec:
        if not isinstance(item, dict):
            raise nova(400, "Invalid input for field/attribute networks.")
        if item.get("port"):
            port = c.state.table("ports").get(item["port"])
            if port is None:
                raise nova(400, f"Port id {item['port']} could not be found.")
            if port["device_id"]:
                raise nova(409, f"Port {item['port']} is still in use.")
        elif item.get("uuid"):
            if item["uuid"] not in networks:
                raise nova(400, f"Network {item['uuid']} could not be found.")
        else:
            raise nova(400, "Bad networks format: network uuid is not in proper format")
    return spec


def check_quota(c: Cloud, flavor: Resource) -> None:
    """403 when one more server of this flavor would exceed instances, cores or RAM."""
    used = quotas.compute_usage(c)
    wanted = {"instances": 1, "cores": flavor["vcpus"], "ram": flavor["ram"]}
    for name in ("instances", "cores", "ram"):
        limit = getattr(c.state.quotas, name)
        if quotas.exceeds(limit, used[name], wanted[name]):
            raise nova(403, f"Quota exceeded for {name}: Requested {wanted[name]}, but already "
                            f"used {used[name]} of {limit} {name}")


def check_request_quotas(c: Cloud, request: BootRequest) -> None:
    """Nova's per-request limits: metadata items, members of the requested server group."""
    limit = c.state.quotas.metadata_items
    if limit >= 0 and len(request.metadata) > limit:
        raise nova(403, f"Maximum number of metadata items exceeds {limit}")
    limit = c.state.quotas.server_group_members
    if request.group is not None and limit >= 0 and len(request.group["members"]) >= limit:
        raise nova(403, "Quota exceeded, too many servers in group")


def schedule(c: Cloud, request: BootRequest) -> tuple[str | None, str | None]:
    """(host, None), or (None, why no host fits)."""
    try:
        return scheduler.pick(c.state.hosts, list(c.state.table("servers").values()),
                              request.forced_host, request.group, request.zone,
                              c.state.zones), None
    except scheduler.NoValidHost as exc:
        return None, str(exc)


def build_ports(c: Cloud, server_id: str, host: str | None,
                request: BootRequest) -> tuple[list[str], list[str]]:
    """(every port of the server in order, the ports made for it); a Neutron error undoes
    them all and becomes Nova's 400 (or its 5xx)."""
    ports: list[str] = []
    created: list[str] = []
    try:
        for item in request.networks:
            if item.get("port"):
                port = c.state.table("ports")[item["port"]]
                port.update({"device_id": server_id, "device_owner": COMPUTE_OWNER,
                             "binding:host_id": host or ""})
            else:
                fixed = [{"ip_address": item["fixed_ip"]}] if item.get("fixed_ip") else None
                port = neutron.create_port(c, {
                    "network_id": item["uuid"], "device_id": server_id,
                    "device_owner": COMPUTE_OWNER, "binding:host_id": host or "",
                    "security_groups": request.security_group_ids, "fixed_ips": fixed})
                created.append(port["id"])
            ports.append(port["id"])
    except ApiError as exc:
        _roll_back_ports(c, ports, created)
        raise nova(400 if exc.status < 500 else exc.status, exc.message) from None
    return ports, created


def _roll_back_ports(c: Cloud, ports: list[str], created: list[str]) -> None:
    for port_id in created:
        c.state.table("ports").pop(port_id, None)
    for port_id in ports:
        if port_id not in created:
            c.state.table("ports")[port_id].update({"device_id": "", "device_owner": ""})


def _record(c: Cloud, server_id: str, request: BootRequest, host: str | None,
            ports: list[str], created: list[str]) -> Resource:
    """The server in BUILD, as GET /servers/<id> will show it."""
    stamp = now()
    project = c.state.identity.project_id
    servers = c.state.table("servers")
    server = {
        "id": server_id, "name": request.name, "status": "BUILD", "tenant_id": project,
        "user_id": c.state.identity.user_id, "metadata": request.metadata,
        "hostId": hashlib.sha224((project + host).encode()).hexdigest() if host else "",
        "created": stamp, "updated": stamp, "key_name": request.key_name,
        "accessIPv4": "", "accessIPv6": "", "progress": 0, "config_drive": "",
        "OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone":
            c.state.zones.get(host or "", request.zone or scheduler.ZONE),
        "OS-EXT-SRV-ATTR:host": host, "OS-EXT-SRV-ATTR:hypervisor_hostname": host,
        "OS-EXT-SRV-ATTR:instance_name": f"instance-{len(servers) + 1:08x}",
        "OS-EXT-STS:task_state": "scheduling", "OS-EXT-STS:vm_state": "building",
        "OS-EXT-STS:power_state": 0, "OS-SRV-USG:launched_at": None,
        "OS-SRV-USG:terminated_at": None, "os-extended-volumes:volumes_attached": [],
        "locked": False, "description": request.description, "tags": request.tags,
        "host_status": "UP", "fault": None,
        "_flavor": request.flavor["id"], "_image": request.image_id,
        "_security_groups": request.security_group_names,
        "_port_order": ports, "_created_ports": created,
    }
    servers[server_id] = server
    if request.group is not None:
        request.group["members"].append(server_id)
    return server


# --- servers: delete ------------------------------------------------------------------------

def delete_server(c: Cloud, server_id: str) -> None:
    """Mark it deleting; builder.py removes it (after its boot, if one runs)."""
    server = get_server(c, server_id)
    server["OS-EXT-STS:task_state"] = "deleting"
    builder.delete(c, server_id)


# --- server groups --------------------------------------------------------------------------

def create_server_group(c: Cloud, body: dict[str, Any]) -> Resource:
    policy = body.get("policy") or (body.get("policies") or [None])[0]
    if policy not in _POLICIES:
        raise nova(400, f"Invalid input for field/attribute policy. Value: {policy}.")
    groups = c.state.table("server_groups")
    if len(groups) >= c.state.quotas.server_groups:
        raise nova(403, "Quota exceeded, too many server groups.")
    group = {"id": new_id(), "name": str(body.get("name") or ""),
             "policy": policy.removeprefix("soft-"), "members": [],
             "project_id": c.state.identity.project_id, "user_id": c.state.identity.user_id}
    groups[group["id"]] = group
    return group


def get_server_group(c: Cloud, group_id: str) -> Resource:
    group = c.state.table("server_groups").get(group_id)
    if group is None:
        raise nova(404, f"Instance group {group_id} could not be found.")
    return group


def delete_server_group(c: Cloud, group_id: str) -> None:
    get_server_group(c, group_id)
    del c.state.table("server_groups")[group_id]


# --- hosts ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class HostUsage:
    servers: int
    vcpus: int
    ram: int


def host_usage(c: Cloud, host: str) -> HostUsage:
    """What the servers placed on a compute host use."""
    servers = [s for s in c.state.table("servers").values() if s["OS-EXT-SRV-ATTR:host"] == host]
    vcpus, ram = quotas.flavor_usage(c, servers)
    return HostUsage(len(servers), vcpus, ram)
