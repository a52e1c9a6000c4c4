"""Nova v2.1 subset over HTTP: views (by microversion) and routes over nova.py's logic.

Flavors, keypairs, servers (+ tags, metadata, os-interface), server groups, hypervisors,
services, availability zones, limits and quota sets. Servers, groups, limits and quotas are the
token's project's, key pairs its user's; policy.py's Nova rules say what only an admin sees
(hypervisors, services, hosts in server views) or does (force a host, set quotas).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, request

from .. import flavors, nova, quotas
from ..common import now
from ..context import Cloud
from ..errors import nova as error
from ..policy import allowed, enforce
from ..state import Resource
from . import microversion
from .base import (
    Args,
    base_url,
    body_of,
    caller,
    cloud,
    guard,
    matches_tags,
    paginate,
    reply,
    request_object,
)
from .microversion import MAX_VERSION, MIN_VERSION, at_least
from .tags import Tags

bp = Blueprint("compute", __name__, url_prefix="/compute")
guard(bp, "compute", public=("versions", "version_v21"))

V = "/v2.1"
microversion.install(bp)  # after guard(): authentication and faults come first


def _version_doc() -> dict[str, Any]:
    return {"id": "v2.1", "status": "CURRENT", "version": microversion.text(MAX_VERSION),
            "min_version": microversion.text(MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base_url()}/compute/v2.1/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.compute+json;version=2.1"}]}


@bp.get("", strict_slashes=False)
def versions() -> Response:
    return reply({"versions": [_version_doc()]})


@bp.get("/v2.1", strict_slashes=False)
def version_v21() -> Response:
    return reply({"version": _version_doc()})


# --- views ----------------------------------------------------------------------------------

def _link(kind: str, item_id: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": f"{base_url()}/compute/v2.1/{kind}/{item_id}"},
            {"rel": "bookmark", "href": f"{base_url()}/compute/{kind}/{item_id}"}]


def _flavor_view(f: Resource, detail: bool) -> dict[str, Any]:
    view = {"id": f["id"], "name": f["name"], "links": _link("flavors", f["id"])}
    if at_least(2, 55):
        view["description"] = f.get("description")
    if detail:
        swap = f.get("swap", 0)
        view.update({"vcpus": f["vcpus"], "ram": f["ram"], "disk": f["disk"],
                     "OS-FLV-EXT-DATA:ephemeral": f.get("ephemeral", 0),
                     "swap": swap if swap or at_least(2, 75) else "",
                     "rxtx_factor": f.get("rxtx_factor", 1.0),
                     "os-flavor-access:is_public": f.get("is_public", True),
                     "OS-FLV-DISABLED:disabled": False})
        if at_least(2, 61):
            view["extra_specs"] = dict(f.get("extra_specs") or {})
    return view


def _keypair_view(kp: Resource, full: bool) -> dict[str, Any]:
    view = {"name": kp["name"], "public_key": kp["public_key"], "fingerprint": kp["fingerprint"]}
    if at_least(2, 2):
        view["type"] = kp["type"]
    if full:
        view.update({"user_id": kp["user_id"], "id": kp["id"], "created_at": kp["created_at"],
                     "deleted": False, "deleted_at": None, "updated_at": None})
    return view


def _server_view(c: Cloud, s: Resource, detail: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"id": s["id"], "name": s["name"], "links": _link("servers", s["id"])}
    if not detail:
        return view
    flavor = flavors.of_server(c, s)
    if at_least(2, 47):
        flavor_view: dict[str, Any] = {
            "vcpus": flavor.get("vcpus"), "ram": flavor.get("ram"), "disk": flavor.get("disk"),
            "ephemeral": flavor.get("ephemeral", 0), "swap": flavor.get("swap", 0),
            "original_name": flavor.get("name"), "extra_specs": flavor.get("extra_specs", {})}
    else:
        flavor_view = {"id": s["_flavor"], "links": _link("flavors", s["_flavor"])}
    view.update({k: v for k, v in s.items() if not k.startswith("_")})
    if at_least(2, 3):
        view["OS-EXT-SRV-ATTR:user_data"] = s.get("_user_data")
    if not allowed(caller(), "os_compute_api:os-extended-server-attributes"):
        view = {k: v for k, v in view.items() if not k.startswith("OS-EXT-SRV-ATTR:")}
    if not allowed(caller(), "os_compute_api:servers:show:host_status"):
        view.pop("host_status", None)
    view.update({
        "addresses": nova.addresses(c, s["id"]), "flavor": flavor_view,
        "image": {"id": s["_image"], "links": _link("images", s["_image"])},
        "security_groups": [{"name": n} for n in s["_security_groups"]],
        "links": _link("servers", s["id"]),
    })
    if not at_least(2, 26):
        view.pop("tags", None)
    if not at_least(2, 19):
        view.pop("description", None)
    if s["status"] != "ERROR":
        view.pop("fault", None)
    return view


def _group_view(grp: Resource) -> dict[str, Any]:
    view = {"id": grp["id"], "name": grp["name"], "members": list(grp["members"]),
            "project_id": grp["project_id"], "user_id": grp["user_id"]}
    if at_least(2, 64):
        view.update({"policy": grp["policy"], "rules": {}})
    else:
        view.update({"policies": [grp["policy"]], "metadata": {}})
    return view


def _hypervisor_view(c: Cloud, index: int, host: str, detail: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"id": str(index + 1) if not at_least(2, 53) else
                            f"00000000-0000-4000-8000-{index + 1:012d}",
                            "hypervisor_hostname": host, "state": "up", "status": "enabled"}
    if detail:
        used = nova.host_usage(c, host)
        view.update({
            "host_ip": c.dataplane.host_address(host), "hypervisor_type": "QEMU",
            "hypervisor_version": 8002000, "vcpus": 64, "vcpus_used": used.vcpus,
            "memory_mb": 262144, "memory_mb_used": 512 + used.ram, "free_ram_mb":
            262144 - 512 - used.ram, "local_gb": 1000, "local_gb_used": 0, "free_disk_gb": 1000,
            "disk_available_least": 1000, "running_vms": used.servers, "current_workload": 0,
            "cpu_info": "{}", "service": {"host": host, "id": index + 1,
                                          "disabled_reason": None}})
    return view


# --- flavors --------------------------------------------------------------------------------

def _is_public_filter(value: str | None) -> bool | None:
    """Nova's is_public query: absent = public only, none = all, else a boolean."""
    if value is None:
        return True
    if value.lower() == "none":
        return None
    return value.lower() in ("true", "1", "yes", "t", "y", "on")


@bp.get(V + "/flavors")
@bp.get(V + "/flavors/detail")
def list_flavors() -> Response:
    detail = request.path.endswith("/detail")
    c = cloud()
    with c.state.lock:
        items = list(c.state.table("flavors").values())
    public = _is_public_filter(request.args.get("is_public"))
    if public is not None:
        items = [f for f in items if f.get("is_public", True) == public]
    min_ram = request.args.get("minRam")
    if min_ram and min_ram.isdigit():
        items = [f for f in items if f["ram"] >= int(min_ram)]
    return reply({"flavors": [_flavor_view(f, detail) for f in paginate(items, request.args)]})


@bp.post(V + "/flavors")
def create_flavor() -> Response:
    enforce(caller(), "os_compute_api:os-flavor-manage:create")
    body = body_of("flavor", "compute")
    c = cloud()
    with c.state.edit():
        flavor = flavors.create(c, body)
    return reply({"flavor": _flavor_view(flavor, True)})


@bp.get(V + "/flavors/<flavor_id>")
def get_flavor(flavor_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        return reply({"flavor": _flavor_view(flavors.get(c, flavor_id), True)})


@bp.delete(V + "/flavors/<flavor_id>")
def delete_flavor(flavor_id: str) -> Response:
    enforce(caller(), "os_compute_api:os-flavor-manage:delete")
    c = cloud()
    with c.state.edit():
        flavors.delete(c, flavor_id)
    return Response(status=202)


@bp.get(V + "/flavors/<flavor_id>/os-extra_specs")
def flavor_extra_specs(flavor_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        return reply({"extra_specs": dict(flavors.specs(flavors.get(c, flavor_id)))})


@bp.post(V + "/flavors/<flavor_id>/os-extra_specs")
def create_extra_specs(flavor_id: str) -> Response:
    enforce(caller(), "os_compute_api:os-flavor-extra-specs:create")
    body = request_object("compute")
    c = cloud()
    with c.state.edit():
        return reply({"extra_specs": flavors.set_specs(c, flavor_id, body.get("extra_specs"))})


@bp.get(V + "/flavors/<flavor_id>/os-extra_specs/<key>")
def get_extra_spec(flavor_id: str, key: str) -> Response:
    c = cloud()
    with c.state.lock:
        return reply({key: flavors.get_spec(c, flavor_id, key)})


@bp.put(V + "/flavors/<flavor_id>/os-extra_specs/<key>")
def update_extra_spec(flavor_id: str, key: str) -> Response:
    enforce(caller(), "os_compute_api:os-flavor-extra-specs:update")
    body = request_object("compute")
    c = cloud()
    with c.state.edit():
        return reply(flavors.update_spec(c, flavor_id, key, body))


@bp.delete(V + "/flavors/<flavor_id>/os-extra_specs/<key>")
def delete_extra_spec(flavor_id: str, key: str) -> Response:
    enforce(caller(), "os_compute_api:os-flavor-extra-specs:delete")
    c = cloud()
    with c.state.edit():
        flavors.delete_spec(c, flavor_id, key)
    return Response(status=200)


# --- keypairs -------------------------------------------------------------------------------

@bp.get(V + "/os-keypairs")
def list_keypairs() -> Response:
    c = cloud()
    user_id = caller().user_id
    with c.state.lock:
        items = [k for k in c.state.table("keypairs").values() if k["user_id"] == user_id]
    return reply({"keypairs": [{"keypair": _keypair_view(k, False)} for k in items]})


@bp.post(V + "/os-keypairs")
def create_keypair() -> Response:
    body = body_of("keypair", "compute")
    c = cloud()
    with c.state.edit():
        kp, private = nova.create_keypair(c, body, caller())
    view = _keypair_view(kp, False) | {"user_id": kp["user_id"]}
    if private:
        view["private_key"] = private
    return reply({"keypair": view}, 201 if at_least(2, 2) else 200)


@bp.get(V + "/os-keypairs/<name>")
def get_keypair(name: str) -> Response:
    c = cloud()
    with c.state.lock:
        return reply({"keypair": _keypair_view(nova.get_keypair(c, name, caller().user_id),
                                               True)})


@bp.delete(V + "/os-keypairs/<name>")
def delete_keypair(name: str) -> Response:
    c = cloud()
    with c.state.edit():
        nova.delete_keypair(c, name, caller().user_id)
    return Response(status=204 if at_least(2, 2) else 202)


# --- servers --------------------------------------------------------------------------------

_SERVER_FILTERS = (("status", "status"), ("host", "OS-EXT-SRV-ATTR:host"),
                   ("availability_zone", "OS-EXT-AZ:availability_zone"),
                   ("key_name", "key_name"), ("flavor", "_flavor"), ("image", "_image"))


def _pattern(args: Args, name: str) -> re.Pattern[str] | None:
    """The regular expression of a name/ip filter, 400 when it does not compile."""
    if not args.get(name):
        return None
    try:
        return re.compile(args[name])
    except re.error:
        raise error(400, f"Invalid filter {name}: {args[name]}") from None


@bp.get(V + "/servers")
@bp.get(V + "/servers/detail")
def list_servers() -> Response:
    detail = request.path.endswith("/detail")
    c = cloud()
    who = caller()
    args = request.args
    everyone = args.get("all_tenants", "").lower() not in ("", "0", "false")
    if everyone:  # 403 for a member, as Nova's new defaults
        enforce(who, f"os_compute_api:servers:{'detail' if detail else 'index'}:get_all_tenants")
    with c.state.lock:
        servers = [s for s in c.state.table("servers").values() if everyone or who.owns(s)]
        name = _pattern(args, "name")
        if name is not None:
            servers = [s for s in servers if name.search(s["name"])]
        for key, field in _SERVER_FILTERS:
            if key == "host" and not who.is_admin:
                continue  # an admin's filter: Nova drops it for others
            if args.get(key):
                servers = [s for s in servers if str(s.get(field)).lower() == args[key].lower()]
        servers = [s for s in servers if matches_tags(s, args)]
        ip = _pattern(args, "ip")
        if ip is not None:
            servers = [s for s in servers if any(
                ip.search(a["addr"]) for items in nova.addresses(c, s["id"]).values()
                for a in items)]
        views = [_server_view(c, s, detail) for s in paginate(servers, args)]
    return reply({"servers": views})


@bp.get(V + "/servers/<server_id>")
def get_server(server_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        return reply({"server": _server_view(c, nova.get_server(c, server_id, caller()), True)})


@bp.post(V + "/servers")
def create_server() -> Response:
    invalid = "The request body is invalid: 'server' is a required property"
    body = body_of("server", "compute", invalid)
    doc = request_object("compute", invalid)
    hints = doc.get("os:scheduler_hints") or doc.get("OS-SCH-HNT:scheduler_hints") or {}
    c = cloud()
    with c.state.edit():
        server = nova.create_server(c, body, hints, caller())
    server_id = server["id"]
    resp = {"id": server_id, "links": _link("servers", server_id), "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": n} for n in server["_security_groups"]],
            "adminPass": "not-used-no-pass"}
    return reply({"server": resp}, 202, {"Location": _link("servers", server_id)[0]["href"]})


@bp.delete(V + "/servers/<server_id>")
def delete_server(server_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        nova.delete_server(c, server_id, caller())
    return Response(status=204)


@bp.get(V + "/servers/<server_id>/metadata")
def server_metadata(server_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        return reply({"metadata": dict(nova.get_server(c, server_id, caller())["metadata"])})


@bp.get(V + "/servers/<server_id>/os-interface")
def server_interfaces(server_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        nova.get_server(c, server_id, caller())
        ports = [p for p in c.state.table("ports").values() if p["device_id"] == server_id]
        return reply({"interfaceAttachments": [
            {"port_id": p["id"], "net_id": p["network_id"], "mac_addr": p["mac_address"],
             "port_state": p["status"], "fixed_ips": p["fixed_ips"]} for p in ports]})


Tags("compute", find=lambda c, server_id: nova.get_server(c, server_id, caller()),
     not_found=lambda tag, server_id: error(404, f"Tag {tag} could not be found."),
     keep_sorted=False).register(bp, V + "/servers/<server_id>", ("list", "add", "remove"))


# --- server groups --------------------------------------------------------------------------

@bp.get(V + "/os-server-groups")
def list_server_groups() -> Response:
    c = cloud()
    who = caller()
    everyone = request.args.get("all_projects", "").lower() not in ("", "0", "false")
    if everyone:
        enforce(who, "os_compute_api:os-server-groups:index:all_projects")
    with c.state.lock:
        groups = [g for g in c.state.table("server_groups").values() if everyone or who.owns(g)]
    return reply({"server_groups": [_group_view(grp) for grp in groups]})


@bp.post(V + "/os-server-groups")
def create_server_group() -> Response:
    body = body_of("server_group", "compute")
    c = cloud()
    with c.state.edit():
        group = nova.create_server_group(c, body, caller())
    return reply({"server_group": _group_view(group)})


@bp.get(V + "/os-server-groups/<group_id>")
def get_server_group(group_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        return reply({"server_group": _group_view(nova.get_server_group(c, group_id,
                                                                         caller()))})


@bp.delete(V + "/os-server-groups/<group_id>")
def delete_server_group(group_id: str) -> Response:
    c = cloud()
    with c.state.edit():
        nova.delete_server_group(c, group_id, caller())
    return Response(status=204)


# --- hosts, zones, services -----------------------------------------------------------------

def _hypervisors(pattern: str, detail: bool) -> list[dict[str, Any]]:
    c = cloud()
    with c.state.lock:
        return [_hypervisor_view(c, i, h, detail) for i, h in enumerate(c.state.hosts)
                if pattern in h]


@bp.get(V + "/os-hypervisors")
@bp.get(V + "/os-hypervisors/detail")
def list_hypervisors() -> Response:
    detail = request.path.endswith("/detail")
    enforce(caller(), f"os_compute_api:os-hypervisors:{'list-detail' if detail else 'list'}")
    pattern = request.args.get("hypervisor_hostname_pattern", "")
    views = _hypervisors(pattern, detail)
    if pattern and not views:
        raise error(404, f"No hypervisor matching '{pattern}' could be found.")
    return reply({"hypervisors": views})


@bp.get(V + "/os-hypervisors/<pattern>/search")
def search_hypervisors(pattern: str) -> Response:
    enforce(caller(), "os_compute_api:os-hypervisors:search")
    views = _hypervisors(pattern, False)
    if not views:
        raise error(404, f"No hypervisor matching '{pattern}' could be found.")
    return reply({"hypervisors": views})


@bp.get(V + "/os-hypervisors/<hyp_id>")
def get_hypervisor(hyp_id: str) -> Response:
    enforce(caller(), "os_compute_api:os-hypervisors:show")
    for view in _hypervisors("", True):
        if hyp_id in (view["id"], view["hypervisor_hostname"]):
            return reply({"hypervisor": view})
    raise error(404, f"Hypervisor with ID '{hyp_id}' could not be found.")


@bp.get(V + "/os-services")
def list_services() -> Response:
    enforce(caller(), "os_compute_api:os-services:list")
    stamp = now()
    c = cloud()
    items = [{"id": i + 1, "binary": "nova-compute", "host": h, "zone": c.state.zones[h],
              "status": "enabled", "state": "up", "updated_at": stamp, "disabled_reason": None,
              "forced_down": False} for i, h in enumerate(c.state.hosts)]
    for key in ("host", "binary"):
        if request.args.get(key):
            items = [s for s in items if s[key] == request.args[key]]
    return reply({"services": items})


def _zones() -> list[str]:
    """The compute hosts' availability zones, in the hosts' order."""
    return list(dict.fromkeys(cloud().state.zones.values()))


@bp.get(V + "/os-availability-zone")
def list_zones() -> Response:
    return reply({"availabilityZoneInfo": [{"zoneName": zone, "zoneState": {"available": True},
                                            "hosts": None} for zone in _zones()]})


@bp.get(V + "/os-availability-zone/detail")
def list_zones_detail() -> Response:
    enforce(caller(), "os_compute_api:os-availability-zone:detail")
    stamp = now()
    zones = cloud().state.zones
    return reply({"availabilityZoneInfo": [
        {"zoneName": zone, "zoneState": {"available": True},
         "hosts": {h: {"nova-compute": {"available": True, "active": True, "updated_at": stamp}}
                   for h, z in zones.items() if z == zone}} for zone in _zones()]})


# --- limits and quotas ----------------------------------------------------------------------

@bp.get(V + "/limits")
def limits() -> Response:
    c = cloud()
    who = caller()
    q = c.state.quotas_of(who.project_id)
    used = quotas.compute_usage(c, who.project_id, who.user_id)
    return reply({"limits": {"rate": [], "absolute": {
        "maxTotalInstances": q.instances, "maxTotalCores": q.cores, "maxTotalRAMSize": q.ram,
        "maxTotalKeypairs": q.key_pairs, "maxServerMeta": q.metadata_items,
        "maxServerGroups": q.server_groups, "maxServerGroupMembers": q.server_group_members,
        "maxImageMeta": 128, "maxPersonality": 5, "maxPersonalitySize": 10240,
        "totalInstancesUsed": used["instances"], "totalCoresUsed": used["cores"],
        "totalRAMUsed": used["ram"], "totalServerGroupsUsed": used["server_groups"]}}})


def _quota_set(project_id: str, detail: bool) -> dict[str, Any]:
    c = cloud()
    limit = quotas.limits(c, project_id)
    used = quotas.compute_usage(c, project_id, caller().user_id)
    out: dict[str, Any] = {"id": project_id}
    for name in quotas.COMPUTE:
        out[name] = {"limit": limit[name], "in_use": used[name], "reserved": 0} if detail \
            else limit[name]
    return out


@bp.get(V + "/os-quota-sets/<project_id>")
@bp.get(V + "/os-quota-sets/<project_id>/defaults")
def get_quota_set(project_id: str) -> Response:
    if not request.path.endswith("/defaults"):
        enforce(caller(), "os_compute_api:os-quota-sets:show", {"project_id": project_id})
    return reply({"quota_set": _quota_set(project_id, False)})


@bp.get(V + "/os-quota-sets/<project_id>/detail")
def get_quota_set_detail(project_id: str) -> Response:
    enforce(caller(), "os_compute_api:os-quota-sets:detail", {"project_id": project_id})
    return reply({"quota_set": _quota_set(project_id, True)})


@bp.put(V + "/os-quota-sets/<project_id>")
def update_quota_set(project_id: str) -> Response:
    enforce(caller(), "os_compute_api:os-quota-sets:update", {"project_id": project_id})
    body = body_of("quota_set", "compute")
    quotas.update(cloud(), project_id, body, quotas.COMPUTE,
                  lambda name: error(400, f"Invalid input for field/attribute {name}."))
    view = _quota_set(project_id, False)
    view.pop("id")
    return reply({"quota_set": view})
