"""Neutron v2.0 subset over HTTP: collections, router actions, tags, quotas, extensions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, request

from .. import neutron
from ..errors import neutron as error
from .base import base_url, body_of, cloud, filtered, guard, only_fields, paginate, reply

bp = Blueprint("network", __name__, url_prefix="/network")
guard(bp, "network", public=("versions",))


@bp.get("", strict_slashes=False)
def versions() -> Response:
    return reply({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": f"{base_url()}/network/v2.0/"}]}]})


# (URL collection, table, singular body key, create, update, delete)
Collection = tuple[str, str, str, Callable[..., Any], Callable[..., Any], Callable[..., Any]]
COLLECTIONS: list[Collection] = [
    ("networks", "networks", "network", neutron.create_network, neutron.update_network,
     neutron.delete_network),
    ("subnets", "subnets", "subnet", neutron.create_subnet, neutron.update_subnet,
     neutron.delete_subnet),
    ("ports", "ports", "port", neutron.create_port, neutron.update_port, neutron.delete_port),
    ("routers", "routers", "router", neutron.create_router, neutron.update_router,
     neutron.delete_router),
    ("floatingips", "floatingips", "floatingip", neutron.create_floatingip,
     neutron.update_floatingip, neutron.delete_floatingip),
    ("security-groups", "security_groups", "security_group", neutron.create_security_group,
     lambda c, item, body: _update_group(item, body), neutron.delete_security_group),
    ("security-group-rules", "security_group_rules", "security_group_rule",
     neutron.create_rule, lambda c, item, body: _no_update(), neutron.delete_rule),
]
BY_URL = {entry[0]: entry for entry in COLLECTIONS}

EXTENSIONS = [
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding"),
    ("external-net", "Neutron external network", "Adds external network attribute"),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "enable_snat"),
    ("l3_agent_scheduler", "L3 Agent Scheduler", "Schedule routers among l3 agents"),
    ("standard-attr-tag", "Tag support for resources with standard attribute", "tags"),
    ("standard-attr-description", "standard-attr-description", "description"),
    ("standard-attr-timestamp", "Resource timestamps", "created_at/updated_at"),
    ("standard-attr-revisions", "Resource revision numbers", "revision_number"),
    ("security-group", "security-group", "The security groups extension."),
    ("port-security", "Port Security", "Provides port security"),
    ("quotas", "Quota management support", "Expose functions for quotas management"),
    ("quota_details", "Quota details management support", "quota usage details"),
    ("availability_zone", "Availability Zone", "The availability zone extension."),
    ("network_availability_zone", "Network Availability Zone", "AZ of networks"),
    ("router_availability_zone", "Router Availability Zone", "AZ of routers"),
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical ones"),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("fip-port-details", "Floating IP Port Details Extension", "port_details"),
    ("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
    ("project-id", "project_id field enabled", "project_id"),
]


def _update_group(item: dict[str, Any], body: dict[str, Any]) -> None:
    for key in ("name", "description"):
        if key in body:
            item[key] = body[key]
    neutron.touch(item)


def _no_update() -> None:
    raise error(400, "BadRequest", "Security group rules cannot be updated.")


def _view(table: str, item: dict[str, Any]) -> dict[str, Any]:
    if table == "security_groups":
        return neutron.group_view(cloud(), item)
    return neutron.public(item)


def _collection(name: str) -> Collection:
    entry = BY_URL.get(name)
    if entry is None:
        raise error(404, "HTTPNotFound", "The resource could not be found.")
    return entry


@bp.get("/v2.0", strict_slashes=False)
def resources() -> Response:
    root = f"{base_url()}/network/v2.0"
    return reply({"resources": [{"name": key, "collection": url,
                                 "links": [{"rel": "self", "href": f"{root}/{url}"}]}
                                for url, _, key, *_ in COLLECTIONS]})


@bp.get("/v2.0/extensions")
def list_extensions() -> Response:
    return reply({"extensions": [_ext(*e) for e in EXTENSIONS]})


@bp.get("/v2.0/extensions/<alias>")
def get_extension(alias: str) -> Response:
    for ext in EXTENSIONS:
        if ext[0] == alias:
            return reply({"extension": _ext(*ext)})
    raise error(404, "HTTPNotFound", f"Extension with alias {alias} does not exist")


def _ext(alias: str, name: str, description: str) -> dict[str, Any]:
    return {"alias": alias, "name": name, "description": description,
            "updated": "2023-01-01T10:00:00-00:00", "links": []}


@bp.get("/v2.0/availability_zones")
def availability_zones() -> Response:
    return reply({"availability_zones": [
        {"name": "nova", "resource": kind, "state": "available"} for kind in ("network", "router")]})


@bp.get("/v2.0/<name>")
def list_items(name: str) -> Response:
    url, table, *_ = _collection(name)
    c = cloud()
    with c.state.lock:
        if table == "security_groups":
            neutron.default_group(c)
        items = [_view(table, item) for item in c.state.table(table).values()]
    items = paginate(filtered(items, request.args), request.args)
    return reply({url.replace("-", "_"): [only_fields(i, request.args) for i in items]})


@bp.post("/v2.0/<name>")
def create_item(name: str) -> Response:
    _, table, key, create, *_ = _collection(name)
    c = cloud()
    body = body_of(key, "network")
    with c.state.lock:
        item = create(c, body)
        if body.get("tags"):
            item["tags"] = sorted(set(map(str, body["tags"])))
        view = _view(table, item)
        c.state.save()
    return reply({key: view}, 201)


@bp.get("/v2.0/<name>/<item_id>")
def get_item(name: str, item_id: str) -> Response:
    _, table, key, *_ = _collection(name)
    c = cloud()
    with c.state.lock:
        view = _view(table, neutron.get(c, table, item_id))
    return reply({key: only_fields(view, request.args)})


@bp.put("/v2.0/<name>/<item_id>")
def update_item(name: str, item_id: str) -> Response:
    _, table, key, _, update, _ = _collection(name)
    c = cloud()
    body = body_of(key, "network")
    with c.state.lock:
        item = neutron.get(c, table, item_id)
        update(c, item, body)
        view = _view(table, item)
        c.state.save()
    return reply({key: view})


@bp.delete("/v2.0/<name>/<item_id>")
def delete_item(name: str, item_id: str) -> Response:
    _, table, _, _, _, delete = _collection(name)
    c = cloud()
    with c.state.lock:
        delete(c, item_id)
        c.state.save()
    return Response(status=204)


@bp.put("/v2.0/routers/<router_id>/<action>")
def router_action(router_id: str, action: str) -> Response:
    if action in ("add_router_interface", "remove_router_interface"):
        c = cloud()
        body = body_of(None, "network")
        with c.state.lock:
            router = neutron.get(c, "routers", router_id)
            act = neutron.add_interface if action.startswith("add") else neutron.remove_interface
            info = act(c, router, body)
            c.state.save()
        return reply(info)
    if action == "tags":
        return replace_tags("routers", router_id)
    raise error(404, "HTTPNotFound", "The resource could not be found.")


# --- tags -----------------------------------------------------------------------------------

def _tagged(name: str, item_id: str) -> dict[str, Any]:
    _, table, *_ = _collection(name)
    return neutron.get(cloud(), table, item_id)


@bp.get("/v2.0/<name>/<item_id>/tags")
def list_tags(name: str, item_id: str) -> Response:
    with cloud().state.lock:
        return reply({"tags": list(_tagged(name, item_id)["tags"])})


@bp.put("/v2.0/<name>/<item_id>/tags")
def replace_tags(name: str, item_id: str) -> Response:
    body = body_of(None, "network")
    tags = body.get("tags")
    if not isinstance(tags, list):
        raise error(400, "HTTPBadRequest", "Invalid tags body.")
    c = cloud()
    with c.state.lock:
        item = _tagged(name, item_id)
        item["tags"] = sorted(set(map(str, tags)))
        neutron.touch(item)
        c.state.save()
        return reply({"tags": list(item["tags"])})


@bp.get("/v2.0/<name>/<item_id>/tags/<tag>")
def check_tag(name: str, item_id: str, tag: str) -> Response:
    with cloud().state.lock:
        if tag not in _tagged(name, item_id)["tags"]:
            raise error(404, "TagNotFound", f"Tag {tag} could not be found for {name} {item_id}.")
    return Response(status=204)


@bp.put("/v2.0/<name>/<item_id>/tags/<tag>")
def add_tag(name: str, item_id: str, tag: str) -> Response:
    c = cloud()
    with c.state.lock:
        item = _tagged(name, item_id)
        if tag not in item["tags"]:
            item["tags"] = sorted(item["tags"] + [tag])
            neutron.touch(item)
            c.state.save()
    return Response(status=201)


@bp.delete("/v2.0/<name>/<item_id>/tags/<tag>")
def remove_tag(name: str, item_id: str, tag: str) -> Response:
    c = cloud()
    with c.state.lock:
        item = _tagged(name, item_id)
        if tag not in item["tags"]:
            raise error(404, "TagNotFound", f"Tag {tag} could not be found for {name} {item_id}.")
        item["tags"] = [t for t in item["tags"] if t != tag]
        neutron.touch(item)
        c.state.save()
    return Response(status=204)


@bp.delete("/v2.0/<name>/<item_id>/tags")
def remove_all_tags(name: str, item_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        item = _tagged(name, item_id)
        item["tags"] = []
        neutron.touch(item)
        c.state.save()
    return Response(status=204)


# --- quotas ---------------------------------------------------------------------------------

NETWORK_QUOTAS = {"network": "networks", "subnet": "subnets", "port": "ports",
                  "router": "routers", "floatingip": "floatingips",
                  "security_group": "security_groups",
                  "security_group_rule": "security_group_rules"}


def _quota(project_id: str) -> dict[str, Any]:
    q = asdict(cloud().state.quotas)
    return {name: q[name] for name in NETWORK_QUOTAS} | {"project_id": project_id,
                                                        "tenant_id": project_id}


@bp.get("/v2.0/quotas")
def list_quotas() -> Response:
    return reply({"quotas": [_quota(cloud().state.identity.project_id)]})


@bp.get("/v2.0/quotas/<project_id>")
def get_quota(project_id: str) -> Response:
    q = _quota(project_id)
    q.pop("project_id")
    q.pop("tenant_id")
    return reply({"quota": q})


@bp.get("/v2.0/quotas/<project_id>/default")
def get_default_quota(project_id: str) -> Response:
    return get_quota(project_id)


@bp.get("/v2.0/quotas/<project_id>/details")
@bp.get("/v2.0/quotas/<project_id>/details.json")
def get_quota_details(project_id: str) -> Response:  # noqa: ARG001 - one quota set for all projects
    c = cloud()
    q = asdict(c.state.quotas)
    with c.state.lock:
        used = {name: len(c.state.table(table)) for name, table in NETWORK_QUOTAS.items()}
    return reply({"quota": {name: {"limit": q[name], "used": used[name], "reserved": 0}
                            for name in NETWORK_QUOTAS}})


@bp.put("/v2.0/quotas/<project_id>")
def update_quota(project_id: str) -> Response:
    body = body_of("quota", "network")
    c = cloud()
    for name, value in body.items():
        if name in NETWORK_QUOTAS:
            try:
                setattr(c.state.quotas, name, int(value))
            except (TypeError, ValueError):
                raise error(400, "HTTPBadRequest", f"Invalid input for {name}.") from None
    return get_quota(project_id)
