"""Neutron v2.0 subset over HTTP: collections, router actions, tags, quotas, extensions, agents.

Every call is the token's project's: lists show what the caller may see (neutron.visible),
another project's items are not found, and creates and updates pass Neutron's policy checks
(policy.enforce_neutron: the admin-only attributes such as router:external and provider:*)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from flask import Blueprint, Response, request

from .. import agents, neutron, quotas, security
from ..context import Cloud
from ..errors import ApiError
from ..errors import neutron as error
from ..policy import Caller, allowed, enforce, enforce_neutron, hide_fields
from ..state import Resource
from .base import base_url, body_of, caller, cloud, filtered, guard, only_fields, paginate, reply, request_object
from .tags import Tags

bp = Blueprint("network", __name__, url_prefix="/network")
guard(bp, "network", public=("versions",))


@bp.get("", strict_slashes=False)
def versions() -> Response:
    return reply({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": f"{base_url()}/network/v2.0/"}]}]})


class Collection(NamedTuple):
    """A Neutron collection: its URL, state table, body key and neutron.py's functions."""

    url: str
    table: str
    key: str
    create: Callable[[Cloud, dict[str, Any], Caller], Resource]
    update: Callable[[Cloud, Resource, dict[str, Any], Caller], None]
    delete: Callable[[Cloud, str], None]


COLLECTIONS = [
    Collection("networks", "networks", "network", neutron.create_network,
               neutron.update_network, neutron.delete_network),
    Collection("subnets", "subnets", "subnet", neutron.create_subnet, neutron.update_subnet,
               neutron.delete_subnet),
    Collection("ports", "ports", "port", neutron.create_port, neutron.update_port,
               neutron.delete_port),
    Collection("routers", "routers", "router", neutron.create_router, neutron.update_router,
               neutron.delete_router),
    Collection("floatingips", "floatingips", "floatingip", neutron.create_floatingip,
               neutron.update_floatingip, neutron.delete_floatingip),
    Collection("security-groups", "security_groups", "security_group",
               lambda c, body, who: neutron.create_security_group(c, body, who),
               lambda c, item, body, who: _update_group(item, body),
               neutron.delete_security_group),
    Collection("security-group-rules", "security_group_rules", "security_group_rule",
               lambda c, body, who: neutron.create_rule(c, body, who),
               lambda c, item, body, who: _no_update(), neutron.delete_rule),
]
BY_URL = {entry.url: entry for entry in COLLECTIONS}

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
    ("agent", "agent", "The agent management extension."),
]


def _update_group(item: Resource, body: dict[str, Any]) -> None:
    for key in ("name", "description"):
        if key in body:
            item[key] = body[key]
    neutron.touch(item)


def _no_update() -> None:
    raise error(400, "BadRequest", "Security group rules cannot be updated.")


def _view(table: str, item: Resource) -> Resource:
    """The item as the caller may see it (admin-only fields such as provider:* left out)."""
    if table == "security_groups":
        return neutron.group_view(cloud(), item)
    return hide_fields(caller(), table, neutron.public(item))


def _collection(name: str) -> Collection:
    entry = BY_URL.get(name)
    if entry is None:
        raise error(404, "HTTPNotFound", "The resource could not be found.")
    return entry


@bp.get("/v2.0", strict_slashes=False)
def resources() -> Response:
    root = f"{base_url()}/network/v2.0"
    return reply({"resources": [{"name": col.key, "collection": col.url,
                                 "links": [{"rel": "self", "href": f"{root}/{col.url}"}]}
                                for col in COLLECTIONS]})


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


@bp.get("/v2.0/agents")
def list_agents() -> Response:
    """Neutron's default policy (get_agent: admin only) filters the list: a member gets 200 and
    an empty list, not a 403."""
    items = agents.agents(cloud()) if allowed(caller(), "get_agent") else []
    items = paginate(filtered(items, request.args), request.args)
    return reply({"agents": [only_fields(i, request.args) for i in items]})


@bp.get("/v2.0/agents/<agent_id>")
def get_agent(agent_id: str) -> Response:
    """Not an admin: 404, as Neutron pretends what policy hides does not exist."""
    for item in agents.agents(cloud()) if allowed(caller(), "get_agent") else []:
        if item["id"] == agent_id:
            return reply({"agent": only_fields(item, request.args)})
    raise error(404, "AgentNotFound", f"Agent {agent_id} could not be found.")


@bp.get("/v2.0/<name>")
def list_items(name: str) -> Response:
    col = _collection(name)
    c = cloud()
    who = caller()
    with c.state.lock:
        if col.table == "security_groups":
            neutron.default_group(c, who.project_id)
        items = [_view(col.table, item) for item in c.state.table(col.table).values()
                 if neutron.visible(c, col.table, item, who)]
    items = paginate(filtered(items, request.args), request.args)
    return reply({col.url.replace("-", "_"): [only_fields(i, request.args) for i in items]})


@bp.post("/v2.0/<name>")
def create_item(name: str) -> Response:
    col = _collection(name)
    c = cloud()
    who = caller()
    if col.table == "security_group_rules":
        bulk = request_object("network").get("security_group_rules")
        if bulk is not None:
            return _create_rules(c, bulk, who)
    body = body_of(col.key, "network")
    enforce_neutron(who, f"create_{col.key}", col.key, body)
    with c.state.edit():
        item = col.create(c, body, who)
        if body.get("tags"):
            item["tags"] = sorted(set(map(str, body["tags"])))
        view = _view(col.table, item)
    return reply({col.key: view}, 201)


def _create_rules(c: Cloud, bodies: Any, who: Caller) -> Response:
    """Neutron's bulk create of security group rules ({"security_group_rules": [...]}): all of
    them or none, and the servers' filters pushed once (a run adding a rule per floating IP of
    64 VMs would otherwise rewrite every VM's filter after each rule)."""
    if not isinstance(bodies, list) or not bodies or not all(isinstance(b, dict) for b in bodies):
        raise error(400, "BadRequest", "Resource body must contain 'security_group_rules': a list of objects.")
    with c.state.edit():
        made: list[Resource] = []
        try:
            for body in bodies:
                enforce_neutron(who, "create_security_group_rule", "security_group_rule", body)
                made.append(neutron.create_rule(c, body, who, push=False))
        except ApiError:
            table = c.state.table("security_group_rules")
            for rule in made:
                table.pop(rule["id"], None)
            raise
        security.push(c)
        views = [_view("security_group_rules", rule) for rule in made]
    return reply({"security_group_rules": views}, 201)


@bp.get("/v2.0/<name>/<item_id>")
def get_item(name: str, item_id: str) -> Response:
    col = _collection(name)
    c = cloud()
    with c.state.lock:
        view = _view(col.table, neutron.get(c, col.table, item_id, caller()))
    return reply({col.key: only_fields(view, request.args)})


@bp.put("/v2.0/<name>/<item_id>")
def update_item(name: str, item_id: str) -> Response:
    col = _collection(name)
    c = cloud()
    who = caller()
    body = body_of(col.key, "network")
    with c.state.edit():
        item = neutron.get(c, col.table, item_id, who)
        enforce_neutron(who, f"update_{col.key}", col.key, body, item)
        col.update(c, item, body, who)
        view = _view(col.table, item)
    return reply({col.key: view})


@bp.delete("/v2.0/<name>/<item_id>")
def delete_item(name: str, item_id: str) -> Response:
    col = _collection(name)
    c = cloud()
    who = caller()
    with c.state.edit():
        enforce(who, f"delete_{col.key}", neutron.get(c, col.table, item_id, who))
        col.delete(c, item_id)
    return Response(status=204)


@bp.put("/v2.0/routers/<router_id>/<action>")
def router_action(router_id: str, action: str) -> Response:
    if action in ("add_router_interface", "remove_router_interface"):
        c = cloud()
        who = caller()
        body = body_of(None, "network")
        with c.state.edit():
            router = neutron.get(c, "routers", router_id, who)
            enforce(who, action, router)
            act = neutron.add_interface if action.startswith("add") else neutron.remove_interface
            info = act(c, router, body, who)
        return reply(info)
    if action == "tags":  # this route shadows the tags one for routers
        return TAGS.replace_tags(name="routers", item_id=router_id)
    raise error(404, "HTTPNotFound", "The resource could not be found.")


# --- tags -----------------------------------------------------------------------------------

def _tagged(c: Cloud, name: str, item_id: str) -> Resource:
    return neutron.get(c, _collection(name).table, item_id, caller())


TAGS = Tags("network", find=_tagged,
            not_found=lambda tag, name, item_id: error(
                404, "TagNotFound", f"Tag {tag} could not be found for {name} {item_id}."),
            keep_sorted=True, touch=neutron.touch)
TAGS.register(bp, "/v2.0/<name>/<item_id>")


# --- quotas ---------------------------------------------------------------------------------

def _quota(project_id: str) -> dict[str, Any]:
    limit = quotas.limits(cloud(), project_id)
    return {name: limit[name] for name in quotas.NETWORK} | {"project_id": project_id,
                                                            "tenant_id": project_id}


@bp.get("/v2.0/quotas")
def list_quotas() -> Response:
    """The projects whose quotas were set (and the caller's own); Neutron: admin only."""
    who = caller()
    if not who.is_admin:
        raise error(403, "AdminRequired", "User does not have admin privileges: Only admin "
                                          "can view or configure quota.")
    c = cloud()
    with c.state.lock:
        projects = list(dict.fromkeys([who.project_id, *c.state.quotas]))
    return reply({"quotas": [_quota(p) for p in projects]})


@bp.get("/v2.0/quotas/<project_id>")
@bp.get("/v2.0/quotas/<project_id>/default")
def get_quota(project_id: str) -> Response:
    enforce(caller(), "get_quota", {"project_id": project_id})
    q = _quota(project_id)
    q.pop("project_id")
    q.pop("tenant_id")
    return reply({"quota": q})


@bp.get("/v2.0/quotas/<project_id>/details")
@bp.get("/v2.0/quotas/<project_id>/details.json")
def get_quota_details(project_id: str) -> Response:
    enforce(caller(), "get_quota", {"project_id": project_id})
    c = cloud()
    limit = quotas.limits(c, project_id)
    used = quotas.network_usage(c, project_id)
    return reply({"quota": {name: {"limit": limit[name], "used": used[name], "reserved": 0}
                            for name in quotas.NETWORK}})


@bp.put("/v2.0/quotas/<project_id>")
def update_quota(project_id: str) -> Response:
    enforce(caller(), "update_quota", {"project_id": project_id})
    body = body_of("quota", "network")
    quotas.update(cloud(), project_id, body, quotas.NETWORK,
                  lambda name: error(400, "HTTPBadRequest", f"Invalid input for {name}."))
    return get_quota(project_id)
