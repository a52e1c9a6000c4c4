"""Nova's resource logic: keypairs, servers (validate, schedule, build ports or roll back),
server groups and host usage. api/compute.py is the HTTP side (microversions, views).

Called with the state lock held, as neutron.py is. Errors are Nova's status codes and
messages so clients show what a real cloud says. Booting itself runs in builder.py.

Servers and server groups belong to the caller's project, key pairs to the caller's user
(policy.Caller, from the token); another project's server or group is not found (404), and
only an admin may force a host (Nova's os_compute_api:servers:create:forced_host).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import binding, builder, flavors, glance, keys, neutron, quotas, scheduler
from .common import new_id, now
from .errors import ApiError, nova
from .policy import Caller, enforce
from .state import Resource

if TYPE_CHECKING:
    from .context import Cloud

COMPUTE_OWNER = "compute:nova"
_KEYPAIR_NAME = re.compile(r"[A-Za-z0-9 _.@-]{1,255}")
_POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")


def _ref_id(ref: object) -> str:
    """The id at the end of a flavorRef/imageRef, which may be a URL."""
    return str(ref).rstrip("/").rsplit("/", 1)[-1]


# --- keypairs -------------------------------------------------------------------------------

def keypair_key(user_id: str, name: str) -> str:
    """Key pairs are per user: the table's key."""
    return f"{user_id}/{name}"


def create_keypair(c: Cloud, body: dict[str, Any], caller: Caller
                   ) -> tuple[Resource, str | None]:
    """(keypair, private key when Nova generated it) for a POST os-keypairs body."""
    name = body.get("name")
    if not isinstance(name, str) or not _KEYPAIR_NAME.fullmatch(name):
        raise nova(400, "Keypair data is invalid: Keypair name contains unsafe characters")
    table = c.state.table("keypairs")
    if keypair_key(caller.user_id, name) in table:
        raise nova(409, f"Key pair '{name}' already exists.")
    used = quotas.compute_usage(c, caller.project_id, caller.user_id)["key_pairs"]
    if quotas.exceeds(c.state.quotas_of(caller.project_id).key_pairs, used):
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
               "user_id": caller.user_id, "created_at": now()}
    table[keypair_key(caller.user_id, name)] = keypair
    return keypair, private


def get_keypair(c: Cloud, name: str, user_id: str) -> Resource:
    keypair = c.state.table("keypairs").get(keypair_key(user_id, name))
    if keypair is None:
        raise nova(404, f"Keypair {name} not found for user {user_id}")
    return keypair


def delete_keypair(c: Cloud, name: str, user_id: str) -> None:
    get_keypair(c, name, user_id)
    del c.state.table("keypairs")[keypair_key(user_id, name)]


# --- servers: reading -----------------------------------------------------------------------

def get_server(c: Cloud, server_id: str, caller: Caller | None = None) -> Resource:
    """The server, else 404 (also when it is another project's and the caller no admin)."""
    server = c.state.table("servers").get(server_id)
    if server is None or not (caller is None or caller.is_admin or caller.owns(server)):
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
    caller: Caller  # whose server it is: its project and user
    different_host: list[str]  # scheduler hints (DifferentHostFilter, SameHostFilter)
    same_host: list[str]
    config_drive: bool = False
    user_data: str | None = None  # base64, as the request gave it


def create_server(c: Cloud, body: dict[str, Any], hints: dict[str, Any], caller: Caller
                  ) -> Resource:
    """Validate, check quota, schedule, make ports, record the server, start its boot.

    No valid host is not an error of the call: the server exists, in ERROR, as in Nova."""
    request = validate(c, body, hints, caller)
    check_quota(c, request.flavor, caller.project_id)
    check_request_quotas(c, request)
    server_id = new_id()
    host, no_host = schedule(c, request)
    ports, created = build_ports(c, server_id, host, request)
    server = _record(c, server_id, request, host, ports, created)
    unbound = [p for p in ports if c.state.table("ports")[p]["binding:vif_type"] == binding.FAILED]
    if no_host:
        builder.fail_server(c, server, 500, no_host)
    elif unbound:  # Nova's PortBindingFailed: the build is aborted, the server kept in ERROR
        builder.fail_server(c, server, 500, f"Build of instance {server_id} aborted: "
                            f"{binding.failed_message(unbound[0])}")
    else:
        builder.boot(c, server_id)
    return server


def _hint_ids(value: object) -> list[str]:
    """A different_host/same_host hint: one server id or a list of them."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def validate(c: Cloud, body: dict[str, Any], hints: dict[str, Any], caller: Caller
             ) -> BootRequest:
    """Every reference in the request must exist for the caller: 400 (or 409) naming the
    first that does not; forcing a host is an admin's (403)."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise nova(400, "Invalid input for field/attribute name.")
    flavor = c.state.table("flavors").get(_ref_id(body.get("flavorRef", "")))
    if flavor is None:
        raise nova(400, f"Flavor {body.get('flavorRef')} could not be found.")
    image_id = _ref_id(body.get("imageRef", ""))
    image = c.state.table("images").get(image_id)
    if image is None or not glance.visible(image, caller):
        raise nova(400, f"Image {body.get('imageRef')} could not be found.")
    if image["status"] != "active":
        raise nova(400, f"Image {image_id} is not active.")
    key_name = body.get("key_name")
    if key_name and keypair_key(caller.user_id, key_name) not in c.state.table("keypairs"):
        raise nova(400, "Invalid key_name provided.")
    group_names, group_ids = _security_groups(c, body.get("security_groups"), caller)
    zone_text = body.get("availability_zone")
    if zone_text and ":" in str(zone_text):  # "zone:host", "zone::node", ":host"
        enforce(caller, "os_compute_api:servers:create:forced_host")
    forced, zone = scheduler.parse_zone(zone_text, c.state.zones)
    group = None
    if hints.get("group"):
        group = c.state.table("server_groups").get(hints["group"])
        if group is None or not (caller.is_admin or caller.owns(group)):
            raise nova(400, f"Invalid server group {hints['group']}")
    networks = _requested_networks(c, body.get("networks"), caller)
    return BootRequest(
        name=name, flavor=flavor, image_id=image_id, key_name=key_name or None,
        security_group_names=group_names, security_group_ids=group_ids, forced_host=forced,
        zone=zone, group=group, networks=networks,
        metadata={str(k): str(v) for k, v in (body.get("metadata") or {}).items()},
        description=body.get("description"), tags=[str(t) for t in body.get("tags") or []],
        caller=caller, different_host=_hint_ids(hints.get("different_host")),
        same_host=_hint_ids(hints.get("same_host")),
        config_drive=_config_drive(body.get("config_drive")),
        user_data=_user_data(body.get("user_data")))


_TRUE, _FALSE = ("true", "1", "yes", "on", "t", "y"), ("false", "0", "no", "off", "f", "n", "")


def _config_drive(value: object) -> bool:
    """Nova's boolean parameter: true/false, or their usual spellings as strings."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if str(value).lower() in _TRUE + _FALSE:
        return str(value).lower() in _TRUE
    raise nova(400, f"Invalid input for field/attribute config_drive. Value: {value}.")


MAX_USER_DATA = 65535  # Nova's limit, on the base64 text


def _user_data(value: object) -> str | None:
    """Nova takes user_data base64-encoded, at most 65535 characters of it."""
    if value is None:
        return None
    shown = str(value)[:40]
    if not isinstance(value, str):
        raise nova(400, f"Invalid input for field/attribute user_data. Value: {shown}.")
    if len(value) > MAX_USER_DATA:
        raise nova(400, f"Invalid input for field/attribute user_data. Value: {shown}... is too "
                        f"long (more than {MAX_USER_DATA} characters)")
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error:
        raise nova(400, f"Invalid input for field/attribute user_data. Value: {shown}. "
                        f"'{shown}' is not a 'base64'") from None
    return value


def _security_groups(c: Cloud, refs: list[object] | None, caller: Caller
                     ) -> tuple[list[str], list[str]]:
    """(names, ids) of the requested groups of the caller's project (by name or id); the
    project's default if none."""
    neutron.default_group(c, caller.project_id)
    groups = [g for g in c.state.table("security_groups").values() if caller.owns(g)]
    names: list[str] = []
    ids: list[str] = []
    for ref in refs or [{"name": "default"}]:
        wanted = ref.get("name") if isinstance(ref, dict) else None
        found = next((g for g in groups if wanted in (g["id"], g["name"])), None)
        if found is None:
            raise nova(400, f"Security group {wanted} not found for project "
                            f"{caller.project_id}.")
        names.append(found["name"])
        ids.append(found["id"])
    return names, ids


def _requested_networks(c: Cloud, spec: object, caller: Caller) -> list[dict[str, Any]]:
    """The networks and ports asked for, as the caller sees them (Neutron's visibility)."""
    networks = {k: n for k, n in c.state.table("networks").items()
                if neutron.visible(c, "networks", n, caller)}
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
            if port is None or not neutron.visible(c, "ports", port, caller):
                raise nova(400, f"Port id {item['port']} could not be found.")
            if port["device_id"]:
                raise nova(409, f"Port {item['port']} is still in use.")
        elif item.get("uuid"):
            if item["uuid"] not in networks:
                raise nova(400, f"Network {item['uuid']} could not be found.")
        else:
            raise nova(400, "Bad networks format: network uuid is not in proper format")
    return spec


def check_quota(c: Cloud, flavor: Resource, project_id: str) -> None:
    """403 when one more server of this flavor would exceed the project's instances, cores or
    RAM."""
    used = quotas.compute_usage(c, project_id)
    limits = c.state.quotas_of(project_id)
    wanted = {"instances": 1, "cores": flavor["vcpus"], "ram": flavor["ram"]}
    for name in ("instances", "cores", "ram"):
        limit = getattr(limits, name)
        if quotas.exceeds(limit, used[name], wanted[name]):
            raise nova(403, f"Quota exceeded for {name}: Requested {wanted[name]}, but already "
                            f"used {used[name]} of {limit} {name}")


def check_request_quotas(c: Cloud, request: BootRequest) -> None:
    """Nova's per-request limits: metadata items, members of the requested server group."""
    limits = c.state.quotas_of(request.caller.project_id)
    limit = limits.metadata_items
    if limit >= 0 and len(request.metadata) > limit:
        raise nova(403, f"Maximum number of metadata items exceeds {limit}")
    limit = limits.server_group_members
    if request.group is not None and limit >= 0 and len(request.group["members"]) >= limit:
        raise nova(403, "Quota exceeded, too many servers in group")


def schedule(c: Cloud, request: BootRequest) -> tuple[str | None, str | None]:
    """(host, None), or (None, why no host fits)."""
    try:
        return scheduler.pick(c.state.hosts, list(c.state.table("servers").values()),
                              request.forced_host, request.group, request.zone,
                              c.state.zones, request.different_host, request.same_host), None
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
                port.update({"device_id": server_id, "device_owner": COMPUTE_OWNER})
                binding.bind(c, port, host)
            else:
                fixed = [{"ip_address": item["fixed_ip"]}] if item.get("fixed_ip") else None
                port = neutron.create_port(c, {
                    "network_id": item["uuid"], "device_id": server_id,
                    "device_owner": COMPUTE_OWNER, "binding:host_id": host or "",
                    "security_groups": request.security_group_ids, "fixed_ips": fixed},
                    request.caller)
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
            binding.unbind(c.state.table("ports")[port_id])


def _record(c: Cloud, server_id: str, request: BootRequest, host: str | None,
            ports: list[str], created: list[str]) -> Resource:
    """The server in BUILD, as GET /servers/<id> will show it."""
    stamp = now()
    project = request.caller.project_id
    servers = c.state.table("servers")
    server = {
        "id": server_id, "name": request.name, "status": "BUILD", "tenant_id": project,
        "user_id": request.caller.user_id, "metadata": request.metadata,
        "hostId": hashlib.sha224((project + host).encode()).hexdigest() if host else "",
        "created": stamp, "updated": stamp, "key_name": request.key_name,
        "accessIPv4": "", "accessIPv6": "", "progress": 0,
        "config_drive": "True" if request.config_drive else "",
        "OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone":
            c.state.zones.get(host or "", request.zone or scheduler.ZONE),
        "OS-EXT-SRV-ATTR:host": host, "OS-EXT-SRV-ATTR:hypervisor_hostname": host,
        "OS-EXT-SRV-ATTR:instance_name": f"instance-{len(servers) + 1:08x}",
        "OS-EXT-STS:task_state": "scheduling", "OS-EXT-STS:vm_state": "building",
        "OS-EXT-STS:power_state": 0, "OS-SRV-USG:launched_at": None,
        "OS-SRV-USG:terminated_at": None, "os-extended-volumes:volumes_attached": [],
        "locked": False, "description": request.description, "tags": request.tags,
        "host_status": "UP", "fault": None,
        "_flavor": request.flavor["id"], "_flavor_info": flavors.embedded(request.flavor),
        "_image": request.image_id, "_user_data": request.user_data,
        "_security_groups": request.security_group_names,
        "_port_order": ports, "_created_ports": created,
    }
    servers[server_id] = server
    if request.group is not None:
        request.group["members"].append(server_id)
    return server


# --- servers: delete ------------------------------------------------------------------------

def delete_server(c: Cloud, server_id: str, caller: Caller) -> None:
    """Mark it deleting; builder.py removes it (after its boot, if one runs)."""
    server = get_server(c, server_id, caller)
    server["OS-EXT-STS:task_state"] = "deleting"
    builder.delete(c, server_id)


# --- server groups --------------------------------------------------------------------------

def create_server_group(c: Cloud, body: dict[str, Any], caller: Caller) -> Resource:
    policy = body.get("policy") or (body.get("policies") or [None])[0]
    if policy not in _POLICIES:
        raise nova(400, f"Invalid input for field/attribute policy. Value: {policy}.")
    groups = c.state.table("server_groups")
    used = quotas.compute_usage(c, caller.project_id)["server_groups"]
    if quotas.exceeds(c.state.quotas_of(caller.project_id).server_groups, used):
        raise nova(403, "Quota exceeded, too many server groups.")
    group = {"id": new_id(), "name": str(body.get("name") or ""),
             "policy": policy.removeprefix("soft-"), "members": [],
             "project_id": caller.project_id, "user_id": caller.user_id}
    groups[group["id"]] = group
    return group


def get_server_group(c: Cloud, group_id: str, caller: Caller) -> Resource:
    group = c.state.table("server_groups").get(group_id)
    if group is None or not (caller.is_admin or caller.owns(group)):
        raise nova(404, f"Instance group {group_id} could not be found.")
    return group


def delete_server_group(c: Cloud, group_id: str, caller: Caller) -> None:
    get_server_group(c, group_id, caller)
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
