"""Nova v2.1 subset: versions/microversions, flavors, keypairs, servers, hosts, quotas."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, g, request

from .. import keys, neutron, scheduler
from ..builder import fail_server
from ..common import new_id, now
from ..errors import ApiError, nova
from .base import base_url, body_of, cloud, guard, matches_tags, paginate, reply

bp = Blueprint("compute", __name__, url_prefix="/compute")
guard(bp, "compute", public=("versions", "version_v21"))

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 79)


def _mv_text(mv: tuple[int, int]) -> str:
    return f"{mv[0]}.{mv[1]}"


def _version_doc() -> dict[str, Any]:
    return {"id": "v2.1", "status": "CURRENT", "version": _mv_text(MAX_VERSION),
            "min_version": _mv_text(MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base_url()}/compute/v2.1/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.compute+json;version=2.1"}]}


@bp.before_request
def _microversion() -> None:
    raw = request.headers.get("OpenStack-API-Version", "")
    value = None
    for part in raw.split(","):
        words = part.split()
        if len(words) == 2 and words[0].lower() == "compute":
            value = words[1]
    value = value or request.headers.get("X-OpenStack-Nova-API-Version")
    if not value:
        g.mv = MIN_VERSION
        return
    if value.lower() == "latest":
        g.mv = MAX_VERSION
        return
    match = re.fullmatch(r"(\d+)\.(\d+)", value.strip())
    if not match:
        raise ApiError(400, f"Invalid API version request string {value}", service="compute")
    mv = (int(match[1]), int(match[2]))
    if not MIN_VERSION <= mv <= MAX_VERSION:
        g.mv = MIN_VERSION
        raise ApiError(406, f"Version {value} is not supported by the API. Minimum is "
                       f"{_mv_text(MIN_VERSION)} and maximum is {_mv_text(MAX_VERSION)}.",
                       service="compute")
    g.mv = mv


@bp.after_request
def _echo_version(response: Response) -> Response:
    mv = _mv_text(getattr(g, "mv", MIN_VERSION))
    response.headers["OpenStack-API-Version"] = f"compute {mv}"
    response.headers["X-OpenStack-Nova-API-Version"] = mv
    response.headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
    return response


def mv_at_least(major: int, minor: int) -> bool:
    return getattr(g, "mv", MIN_VERSION) >= (major, minor)


@bp.get("", strict_slashes=False)
def versions() -> Response:
    return reply({"versions": [_version_doc()]})


@bp.get("/v2.1", strict_slashes=False)
def version_v21() -> Response:
    return reply({"version": _version_doc()})


V = "/v2.1"


def _link(kind: str, item_id: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": f"{base_url()}/compute/v2.1/{kind}/{item_id}"},
            {"rel": "bookmark", "href": f"{base_url()}/compute/{kind}/{item_id}"}]


# --- flavors --------------------------------------------------------------------------------

def _flavor_view(f: dict[str, Any], detail: bool) -> dict[str, Any]:
    view = {"id": f["id"], "name": f["name"], "links": _link("flavors", f["id"])}
    if mv_at_least(2, 55):
        view["description"] = None
    if detail:
        view.update({"vcpus": f["vcpus"], "ram": f["ram"], "disk": f["disk"],
                     "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 0 if mv_at_least(2, 75) else "",
                     "rxtx_factor": 1.0, "os-flavor-access:is_public": True,
                     "OS-FLV-DISABLED:disabled": False})
        if mv_at_least(2, 61):
            view["extra_specs"] = {}
    return view


def _flavor(flavor_id: str) -> dict[str, Any] | None:
    return cloud().state.table("flavors").get(str(flavor_id))


@bp.get(V + "/flavors")
@bp.get(V + "/flavors/detail")
def list_flavors() -> Response:
    detail = request.path.endswith("/detail")
    flavors = list(cloud().state.table("flavors").values())
    min_ram = request.args.get("minRam")
    if min_ram and min_ram.isdigit():
        flavors = [f for f in flavors if f["ram"] >= int(min_ram)]
    return reply({"flavors": [_flavor_view(f, detail) for f in paginate(flavors, request.args)]})


@bp.get(V + "/flavors/<flavor_id>")
def get_flavor(flavor_id: str) -> Response:
    f = _flavor(flavor_id)
    if f is None:
        raise nova(404, f"Flavor {flavor_id} could not be found.")
    return reply({"flavor": _flavor_view(f, True)})


@bp.get(V + "/flavors/<flavor_id>/os-extra_specs")
def flavor_extra_specs(flavor_id: str) -> Response:
    if _flavor(flavor_id) is None:
        raise nova(404, f"Flavor {flavor_id} could not be found.")
    return reply({"extra_specs": {}})


# --- keypairs -------------------------------------------------------------------------------

def _keypair_view(kp: dict[str, Any], full: bool) -> dict[str, Any]:
    view = {"name": kp["name"], "public_key": kp["public_key"],
            "fingerprint": kp["fingerprint"]}
    if mv_at_least(2, 2):
        view["type"] = kp["type"]
    if full:
        view.update({"user_id": kp["user_id"], "id": kp["id"], "created_at": kp["created_at"],
                     "deleted": False, "deleted_at": None, "updated_at": None})
    return view


@bp.get(V + "/os-keypairs")
def list_keypairs() -> Response:
    with cloud().state.lock:
        items = list(cloud().state.table("keypairs").values())
    return reply({"keypairs": [{"keypair": _keypair_view(k, False)} for k in items]})


@bp.post(V + "/os-keypairs")
def create_keypair() -> Response:
    body = body_of("keypair", "compute")
    c = cloud()
    name = body.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9 _.@-]{1,255}", name):
        raise nova(400, "Keypair data is invalid: Keypair name contains unsafe characters")
    with c.state.lock:
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
        kp = {"id": len(table) + 1, "name": name, "public_key": str(public).strip(),
              "fingerprint": fingerprint, "type": body.get("type", "ssh"),
              "user_id": c.state.identity.user_id, "created_at": now()}
        table[name] = kp
        c.state.save()
    view = _keypair_view(kp, False) | {"user_id": kp["user_id"]}
    if private:
        view["private_key"] = private
    return reply({"keypair": view}, 201 if mv_at_least(2, 2) else 200)


def _keypair(name: str) -> dict[str, Any]:
    c = cloud()
    kp = c.state.table("keypairs").get(name)
    if kp is None:
        raise nova(404, f"Keypair {name} not found for user {c.state.identity.user_id}")
    return kp


@bp.get(V + "/os-keypairs/<name>")
def get_keypair(name: str) -> Response:
    return reply({"keypair": _keypair_view(_keypair(name), True)})


@bp.delete(V + "/os-keypairs/<name>")
def delete_keypair(name: str) -> Response:
    c = cloud()
    with c.state.lock:
        _keypair(name)
        del c.state.table("keypairs")[name]
        c.state.save()
    return Response(status=204 if mv_at_least(2, 2) else 202)


# --- servers --------------------------------------------------------------------------------

def _addresses(c: Any, server_id: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    networks = c.state.table("networks")
    fips = c.state.table("floatingips").values()
    server = c.state.table("servers")[server_id]
    ports = [p for p in c.state.table("ports").values() if p["device_id"] == server_id
             and p["device_owner"].startswith("compute:")]
    order = server.get("_port_order", [])
    ports.sort(key=lambda p: order.index(p["id"]) if p["id"] in order else 99)
    for port in ports:
        name = networks.get(port["network_id"], {}).get("name") or port["network_id"]
        entries = out.setdefault(name, [])
        for ip in port["fixed_ips"]:
            entries.append({"version": 4, "addr": ip["ip_address"], "OS-EXT-IPS:type": "fixed",
                            "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
            for fip in fips:
                if fip["port_id"] == port["id"] and fip["fixed_ip_address"] == ip["ip_address"]:
                    entries.append({"version": 4, "addr": fip["floating_ip_address"],
                                    "OS-EXT-IPS:type": "floating",
                                    "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
    return out


def _server_view(c: Any, s: dict[str, Any], detail: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"id": s["id"], "name": s["name"], "links": _link("servers", s["id"])}
    if not detail:
        return view
    flavor = c.state.table("flavors").get(s["_flavor"], {})
    if mv_at_least(2, 47):
        flavor_view: dict[str, Any] = {
            "vcpus": flavor.get("vcpus"), "ram": flavor.get("ram"), "disk": flavor.get("disk"),
            "ephemeral": 0, "swap": 0, "original_name": flavor.get("name"), "extra_specs": {}}
    else:
        flavor_view = {"id": s["_flavor"], "links": _link("flavors", s["_flavor"])}
    public = {k: v for k, v in s.items() if not k.startswith("_")}
    view.update(public)
    view.update({
        "addresses": _addresses(c, s["id"]), "flavor": flavor_view,
        "image": {"id": s["_image"], "links": _link("images", s["_image"])},
        "security_groups": [{"name": n} for n in s["_security_groups"]],
        "links": _link("servers", s["id"]),
    })
    if not mv_at_least(2, 26):
        view.pop("tags", None)
    if not mv_at_least(2, 19):
        view.pop("description", None)
    if s["status"] != "ERROR":
        view.pop("fault", None)
    return view


def _server(server_id: str) -> dict[str, Any]:
    s = cloud().state.table("servers").get(server_id)
    if s is None:
        raise nova(404, f"Instance {server_id} could not be found.")
    return s


@bp.get(V + "/servers")
@bp.get(V + "/servers/detail")
def list_servers() -> Response:
    detail = request.path.endswith("/detail")
    c = cloud()
    args = request.args
    with c.state.lock:
        servers = list(c.state.table("servers").values())
        if args.get("name"):
            try:
                pattern = re.compile(args["name"])
            except re.error:
                raise nova(400, f"Invalid filter name: {args['name']}") from None
            servers = [s for s in servers if pattern.search(s["name"])]
        for key, field in (("status", "status"), ("host", "OS-EXT-SRV-ATTR:host"),
                           ("availability_zone", "OS-EXT-AZ:availability_zone"),
                           ("key_name", "key_name"), ("flavor", "_flavor"), ("image", "_image")):
            if args.get(key):
                servers = [s for s in servers if str(s.get(field)).lower() == args[key].lower()]
        servers = [s for s in servers if matches_tags(s, args)]
        if args.get("ip"):
            try:
                ip_pattern = re.compile(args["ip"])
            except re.error:
                raise nova(400, f"Invalid filter ip: {args['ip']}") from None
            servers = [s for s in servers if any(
                ip_pattern.search(a["addr"]) for items in _addresses(c, s["id"]).values()
                for a in items)]
        servers = paginate(servers, args)
        views = [_server_view(c, s, detail) for s in servers]
    return reply({"servers": views})


@bp.get(V + "/servers/<server_id>")
def get_server(server_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        return reply({"server": _server_view(c, _server(server_id), True)})


def _quota_check(c: Any, flavor: dict[str, Any]) -> None:
    servers = list(c.state.table("servers").values())
    used = {"instances": len(servers), "cores": 0, "ram": 0}
    flavors = c.state.table("flavors")
    for s in servers:
        f = flavors.get(s["_flavor"], {})
        used["cores"] += f.get("vcpus", 0)
        used["ram"] += f.get("ram", 0)
    wanted = {"instances": 1, "cores": flavor["vcpus"], "ram": flavor["ram"]}
    for name in ("instances", "cores", "ram"):
        limit = getattr(c.state.quotas, name)
        if limit >= 0 and used[name] + wanted[name] > limit:
            raise nova(403, f"Quota exceeded for {name}: Requested {wanted[name]}, but already "
                            f"used {used[name]} of {limit} {name}")


def _requested_networks(c: Any, spec: Any) -> list[dict[str, Any]]:
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


@bp.post(V + "/servers")
def create_server() -> Response:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("server"), dict):
        raise nova(400, "The request body is invalid: 'server' is a required property")
    body = data["server"]
    hints = data.get("os:scheduler_hints") or data.get("OS-SCH-HNT:scheduler_hints") or {}
    c = cloud()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise nova(400, "Invalid input for field/attribute name.")
    with c.state.lock:
        flavor_ref = str(body.get("flavorRef", "")).rstrip("/").rsplit("/", 1)[-1]
        flavor = c.state.table("flavors").get(flavor_ref)
        if flavor is None:
            raise nova(400, f"Flavor {body.get('flavorRef')} could not be found.")
        image_ref = str(body.get("imageRef", "")).rstrip("/").rsplit("/", 1)[-1]
        if image_ref not in c.state.table("images"):
            raise nova(400, f"Image {body.get('imageRef')} could not be found.")
        key_name = body.get("key_name")
        if key_name and key_name not in c.state.table("keypairs"):
            raise nova(400, "Invalid key_name provided.")
        neutron.default_group(c)
        groups = c.state.table("security_groups")
        sg_names: list[str] = []
        sg_ids: list[str] = []
        for sg in body.get("security_groups") or [{"name": "default"}]:
            ref = sg.get("name") if isinstance(sg, dict) else None
            found = next((g_ for g_ in groups.values() if ref in (g_["id"], g_["name"])), None)
            if found is None:
                raise nova(400, f"Security group {ref} not found for project "
                                f"{c.state.identity.project_id}.")
            sg_names.append(found["name"])
            sg_ids.append(found["id"])
        forced = scheduler.parse_zone(body.get("availability_zone"), c.state.hosts)
        group = None
        if hints.get("group"):
            group = c.state.table("server_groups").get(hints["group"])
            if group is None:
                raise nova(400, f"Invalid server group {hints['group']}")
        requested = _requested_networks(c, body.get("networks"))
        _quota_check(c, flavor)
        server_id = new_id()
        stamp = now()
        try:
            host = scheduler.pick(c.state.hosts, list(c.state.table("servers").values()),
                                  forced, group)
            no_host = None
        except scheduler.NoValidHost as exc:
            host, no_host = None, str(exc)
        ports: list[str] = []
        created: list[str] = []
        try:
            for item in requested:
                if item.get("port"):
                    port = c.state.table("ports")[item["port"]]
                    port.update({"device_id": server_id, "device_owner": "compute:nova",
                                 "binding:host_id": host or ""})
                else:
                    fixed = [{"ip_address": item["fixed_ip"]}] if item.get("fixed_ip") else None
                    port = neutron.create_port(c, {
                        "network_id": item["uuid"], "device_id": server_id,
                        "device_owner": "compute:nova", "binding:host_id": host or "",
                        "security_groups": sg_ids, "fixed_ips": fixed})
                    created.append(port["id"])
                ports.append(port["id"])
        except ApiError as exc:
            for port_id in created:
                c.state.table("ports").pop(port_id, None)
            for port_id in ports:
                if port_id not in created:
                    c.state.table("ports")[port_id].update({"device_id": "", "device_owner": ""})
            raise nova(400 if exc.status < 500 else exc.status, exc.message) from None
        tags = [str(t) for t in body.get("tags") or []]
        server = {
            "id": server_id, "name": name, "status": "BUILD", "tenant_id":
            c.state.identity.project_id, "user_id": c.state.identity.user_id,
            "metadata": {str(k): str(v) for k, v in (body.get("metadata") or {}).items()},
            "hostId": hashlib.sha224((c.state.identity.project_id + (host or "")).encode())
            .hexdigest() if host else "",
            "created": stamp, "updated": stamp, "key_name": key_name or None,
            "accessIPv4": "", "accessIPv6": "", "progress": 0, "config_drive": "",
            "OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": scheduler.ZONE,
            "OS-EXT-SRV-ATTR:host": host, "OS-EXT-SRV-ATTR:hypervisor_hostname": host,
            "OS-EXT-SRV-ATTR:instance_name": f"instance-{len(c.state.table('servers')) + 1:08x}",
            "OS-EXT-STS:task_state": "scheduling", "OS-EXT-STS:vm_state": "building",
            "OS-EXT-STS:power_state": 0, "OS-SRV-USG:launched_at": None,
            "OS-SRV-USG:terminated_at": None, "os-extended-volumes:volumes_attached": [],
            "locked": False, "description": body.get("description"), "tags": tags,
            "host_status": "UP", "fault": None,
            "_flavor": flavor["id"], "_image": image_ref, "_security_groups": sg_names,
            "_port_order": ports, "_created_ports": created,
        }
        c.state.table("servers")[server_id] = server
        if group is not None:
            group["members"].append(server_id)
        if no_host:
            fail_server(c, server, 500, no_host)
        else:
            c.builder.boot(c, server_id)
        c.state.save()
    resp = {"id": server_id, "links": _link("servers", server_id), "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": n} for n in sg_names], "adminPass": "not-used-no-pass"}
    return reply({"server": resp}, 202, {"Location": _link("servers", server_id)[0]["href"]})


@bp.delete(V + "/servers/<server_id>")
def delete_server(server_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        server = _server(server_id)
        server["OS-EXT-STS:task_state"] = "deleting"
        c.builder.delete(c, server_id)
    return Response(status=204)


@bp.get(V + "/servers/<server_id>/metadata")
def server_metadata(server_id: str) -> Response:
    with cloud().state.lock:
        return reply({"metadata": dict(_server(server_id)["metadata"])})


@bp.get(V + "/servers/<server_id>/tags")
def server_tags(server_id: str) -> Response:
    with cloud().state.lock:
        return reply({"tags": list(_server(server_id)["tags"])})


@bp.put(V + "/servers/<server_id>/tags/<tag>")
def add_server_tag(server_id: str, tag: str) -> Response:
    c = cloud()
    with c.state.lock:
        server = _server(server_id)
        if tag not in server["tags"]:
            server["tags"].append(tag)
            c.state.save()
    return Response(status=201)


@bp.delete(V + "/servers/<server_id>/tags/<tag>")
def delete_server_tag(server_id: str, tag: str) -> Response:
    c = cloud()
    with c.state.lock:
        server = _server(server_id)
        if tag not in server["tags"]:
            raise nova(404, f"Tag {tag} could not be found.")
        server["tags"].remove(tag)
        c.state.save()
    return Response(status=204)


@bp.get(V + "/servers/<server_id>/os-interface")
def server_interfaces(server_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        _server(server_id)
        ports = [p for p in c.state.table("ports").values() if p["device_id"] == server_id]
        return reply({"interfaceAttachments": [
            {"port_id": p["id"], "net_id": p["network_id"], "mac_addr": p["mac_address"],
             "port_state": p["status"], "fixed_ips": p["fixed_ips"]} for p in ports]})


# --- server groups --------------------------------------------------------------------------

def _group_view(grp: dict[str, Any]) -> dict[str, Any]:
    view = {"id": grp["id"], "name": grp["name"], "members": list(grp["members"]),
            "project_id": grp["project_id"], "user_id": grp["user_id"]}
    if mv_at_least(2, 64):
        view.update({"policy": grp["policy"], "rules": {}})
    else:
        view.update({"policies": [grp["policy"]], "metadata": {}})
    return view


@bp.get(V + "/os-server-groups")
def list_server_groups() -> Response:
    with cloud().state.lock:
        groups = list(cloud().state.table("server_groups").values())
    return reply({"server_groups": [_group_view(grp) for grp in groups]})


@bp.post(V + "/os-server-groups")
def create_server_group() -> Response:
    body = body_of("server_group", "compute")
    policy = body.get("policy") or (body.get("policies") or [None])[0]
    if policy not in ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"):
        raise nova(400, f"Invalid input for field/attribute policy. Value: {policy}.")
    c = cloud()
    with c.state.lock:
        if len(c.state.table("server_groups")) >= c.state.quotas.server_groups:
            raise nova(403, "Quota exceeded, too many server groups.")
        grp = {"id": new_id(), "name": str(body.get("name") or ""),
               "policy": policy.removeprefix("soft-"), "members": [],
               "project_id": c.state.identity.project_id, "user_id": c.state.identity.user_id}
        c.state.table("server_groups")[grp["id"]] = grp
        c.state.save()
    return reply({"server_group": _group_view(grp)})


def _server_group(group_id: str) -> dict[str, Any]:
    grp = cloud().state.table("server_groups").get(group_id)
    if grp is None:
        raise nova(404, f"Instance group {group_id} could not be found.")
    return grp


@bp.get(V + "/os-server-groups/<group_id>")
def get_server_group(group_id: str) -> Response:
    with cloud().state.lock:
        return reply({"server_group": _group_view(_server_group(group_id))})


@bp.delete(V + "/os-server-groups/<group_id>")
def delete_server_group(group_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        _server_group(group_id)
        del c.state.table("server_groups")[group_id]
        c.state.save()
    return Response(status=204)


# --- hosts, zones, services -----------------------------------------------------------------

def _hypervisor_view(index: int, host: str, detail: bool) -> dict[str, Any]:
    c = cloud()
    view: dict[str, Any] = {"id": str(index + 1) if not mv_at_least(2, 53) else
                            f"00000000-0000-4000-8000-{index + 1:012d}",
                            "hypervisor_hostname": host, "state": "up", "status": "enabled"}
    if detail:
        servers = [s for s in c.state.table("servers").values()
                   if s["OS-EXT-SRV-ATTR:host"] == host]
        flavors = c.state.table("flavors")
        vcpus_used = sum(flavors.get(s["_flavor"], {}).get("vcpus", 0) for s in servers)
        ram_used = sum(flavors.get(s["_flavor"], {}).get("ram", 0) for s in servers)
        view.update({
            "host_ip": c.dataplane.host_address(host), "hypervisor_type": "QEMU",
            "hypervisor_version": 8002000, "vcpus": 64, "vcpus_used": vcpus_used,
            "memory_mb": 262144, "memory_mb_used": 512 + ram_used, "free_ram_mb":
            262144 - 512 - ram_used, "local_gb": 1000, "local_gb_used": 0, "free_disk_gb": 1000,
            "disk_available_least": 1000, "running_vms": len(servers), "current_workload": 0,
            "cpu_info": "{}", "service": {"host": host, "id": index + 1,
                                          "disabled_reason": None}})
    return view


@bp.get(V + "/os-hypervisors")
@bp.get(V + "/os-hypervisors/detail")
def list_hypervisors() -> Response:
    detail = request.path.endswith("/detail")
    pattern = request.args.get("hypervisor_hostname_pattern", "")
    with cloud().state.lock:
        hosts = cloud().state.hosts
        views = [_hypervisor_view(i, h, detail) for i, h in enumerate(hosts) if pattern in h]
    if pattern and not views:
        raise nova(404, f"No hypervisor matching '{pattern}' could be found.")
    return reply({"hypervisors": views})


@bp.get(V + "/os-hypervisors/<pattern>/search")
def search_hypervisors(pattern: str) -> Response:
    with cloud().state.lock:
        views = [_hypervisor_view(i, h, False) for i, h in enumerate(cloud().state.hosts)
                 if pattern in h]
    if not views:
        raise nova(404, f"No hypervisor matching '{pattern}' could be found.")
    return reply({"hypervisors": views})


@bp.get(V + "/os-hypervisors/<hyp_id>")
def get_hypervisor(hyp_id: str) -> Response:
    with cloud().state.lock:
        for i, host in enumerate(cloud().state.hosts):
            view = _hypervisor_view(i, host, True)
            if hyp_id in (view["id"], host):
                return reply({"hypervisor": view})
    raise nova(404, f"Hypervisor with ID '{hyp_id}' could not be found.")


@bp.get(V + "/os-services")
def list_services() -> Response:
    stamp = now()
    hosts = cloud().state.hosts
    items = [{"id": i + 1, "binary": "nova-compute", "host": h, "zone": scheduler.ZONE,
              "status": "enabled", "state": "up", "updated_at": stamp, "disabled_reason": None,
              "forced_down": False} for i, h in enumerate(hosts)]
    for key in ("host", "binary"):
        if request.args.get(key):
            items = [s for s in items if s[key] == request.args[key]]
    return reply({"services": items})


@bp.get(V + "/os-availability-zone")
def list_zones() -> Response:
    return reply({"availabilityZoneInfo": [{"zoneName": scheduler.ZONE,
                                            "zoneState": {"available": True}, "hosts": None}]})


@bp.get(V + "/os-availability-zone/detail")
def list_zones_detail() -> Response:
    stamp = now()
    hosts = {h: {"nova-compute": {"available": True, "active": True, "updated_at": stamp}}
             for h in cloud().state.hosts}
    return reply({"availabilityZoneInfo": [{"zoneName": scheduler.ZONE,
                                            "zoneState": {"available": True}, "hosts": hosts}]})


# --- limits and quotas ----------------------------------------------------------------------

COMPUTE_QUOTAS = ("instances", "cores", "ram", "key_pairs", "server_groups",
                  "server_group_members", "metadata_items")


def _usage() -> dict[str, int]:
    c = cloud()
    with c.state.lock:
        servers = list(c.state.table("servers").values())
        flavors = c.state.table("flavors")
        return {"instances": len(servers),
                "cores": sum(flavors.get(s["_flavor"], {}).get("vcpus", 0) for s in servers),
                "ram": sum(flavors.get(s["_flavor"], {}).get("ram", 0) for s in servers),
                "key_pairs": len(c.state.table("keypairs")),
                "server_groups": len(c.state.table("server_groups")),
                "server_group_members": 0, "metadata_items": 0}


@bp.get(V + "/limits")
def limits() -> Response:
    q = cloud().state.quotas
    used = _usage()
    return reply({"limits": {"rate": [], "absolute": {
        "maxTotalInstances": q.instances, "maxTotalCores": q.cores, "maxTotalRAMSize": q.ram,
        "maxTotalKeypairs": q.key_pairs, "maxServerMeta": q.metadata_items,
        "maxServerGroups": q.server_groups, "maxServerGroupMembers": q.server_group_members,
        "maxImageMeta": 128, "maxPersonality": 5, "maxPersonalitySize": 10240,
        "totalInstancesUsed": used["instances"], "totalCoresUsed": used["cores"],
        "totalRAMUsed": used["ram"], "totalServerGroupsUsed": used["server_groups"]}}})


def _quota_set(project_id: str, detail: bool) -> dict[str, Any]:
    q = asdict(cloud().state.quotas)
    used = _usage()
    out: dict[str, Any] = {"id": project_id}
    for name in COMPUTE_QUOTAS:
        out[name] = {"limit": q[name], "in_use": used[name], "reserved": 0} if detail \
            else q[name]
    return out


@bp.get(V + "/os-quota-sets/<project_id>")
def get_quota_set(project_id: str) -> Response:
    return reply({"quota_set": _quota_set(project_id, False)})


@bp.get(V + "/os-quota-sets/<project_id>/detail")
def get_quota_set_detail(project_id: str) -> Response:
    return reply({"quota_set": _quota_set(project_id, True)})


@bp.get(V + "/os-quota-sets/<project_id>/defaults")
def get_quota_defaults(project_id: str) -> Response:
    return reply({"quota_set": _quota_set(project_id, False)})


@bp.put(V + "/os-quota-sets/<project_id>")
def update_quota_set(project_id: str) -> Response:
    body = body_of("quota_set", "compute")
    quotas = cloud().state.quotas
    for name, value in body.items():
        if name in COMPUTE_QUOTAS:
            try:
                setattr(quotas, name, int(value))
            except (TypeError, ValueError):
                raise nova(400, f"Invalid input for field/attribute {name}.") from None
    view = _quota_set(project_id, False)
    view.pop("id")
    return reply({"quota_set": view})
