"""Keystone v3 over HTTP: discovery, tokens (password and token methods, project scope),
catalog, domains, projects, users, roles, role assignments (grants). keystone.py holds the
logic; policy.py says who may call what (Keystone's defaults: admin for every change)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request

from .. import keystone
from ..errors import ApiError
from ..policy import enforce
from ..state import Resource
from ..tokens import Token
from .base import base_url, body_of, caller, cloud, guard, reply, token

bp = Blueprint("identity", __name__, url_prefix="/identity")
guard(bp, "identity", public=("versions", "v3", "issue_token"), unscoped=True)

V3 = "/v3"
REGION = "RegionOne"
SERVICES = (  # type, name, path (relative to the base URL)
    ("identity", "keystone", "/identity"),
    ("compute", "nova", "/compute/v2.1"),
    ("network", "neutron", "/network"),
    ("image", "glance", "/image"),
)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _v3_doc() -> dict[str, Any]:
    return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{base_url()}/identity/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


@bp.get("", strict_slashes=False)
def versions() -> Response:
    return reply({"versions": {"values": [_v3_doc()]}}, 300)


@bp.get(V3, strict_slashes=False)
def v3() -> Response:
    return reply({"version": _v3_doc()})


def catalog() -> list[dict[str, Any]]:
    root = base_url()
    return [{"type": kind, "name": name, "id": kind,
             "endpoints": [{"id": f"{kind}-public", "interface": "public", "region": REGION,
                            "region_id": REGION, "url": root + path}]}
            for kind, name, path in SERVICES]


def token_body(tok: Token) -> dict[str, Any]:
    """The token as Keystone shows it: user, project and roles (effective, as now), catalog."""
    c = cloud()
    with c.state.lock:
        user = c.state.table("users")[tok.user_id]
        domains = c.state.table("domains")
        body: dict[str, Any] = {
            "methods": list(tok.methods), "audit_ids": [tok.audit_id],
            "issued_at": _iso(tok.issued_at), "expires_at": _iso(tok.expires_at),
            "user": {"id": user["id"], "name": user["name"], "password_expires_at": None,
                     "domain": _domain_ref(domains, user["domain_id"])}}
        if tok.project_id is not None:
            project = c.state.table("projects")[tok.project_id]
            roles = {r["name"]: r["id"] for r in c.state.table("roles").values()}
            body.update({
                "project": {"id": project["id"], "name": project["name"],
                            "domain": _domain_ref(domains, project["domain_id"])},
                "roles": [{"id": roles[name], "name": name}
                          for name in keystone.role_names(c, tok.user_id, tok.project_id)],
                "is_domain": False, "catalog": catalog()})
    return {"token": body}


def _domain_ref(domains: dict[str, Resource], domain_id: str) -> dict[str, str]:
    return {"id": domain_id, "name": domains.get(domain_id, {}).get("name", domain_id)}


# --- tokens ---------------------------------------------------------------------------------

@bp.post(V3 + "/auth/tokens")
def issue_token() -> Response:
    auth = body_of("auth", "identity", "Expecting to find auth in request.")
    value, tok = keystone.authenticate(cloud(), auth)
    return reply(token_body(tok), 201, {"X-Subject-Token": value})


def _subject() -> tuple[str, Token]:
    """The X-Subject-Token of a validation or revocation; 404 when it is no live token.
    Anyone may look at their own token, an admin at anyone's (identity:validate_token)."""
    value = request.headers.get("X-Subject-Token", "")
    subject = keystone.caller_token(cloud(), value)
    if subject is None:
        raise ApiError(404, f"Could not find token: {value[:8]}...", service="identity")
    return value, subject


@bp.get(V3 + "/auth/tokens")
def validate_token() -> Response:
    value, subject = _subject()
    enforce(caller(), "identity:validate_token", {"user_id": subject.user_id})
    return reply(token_body(subject), 200, {"X-Subject-Token": value})


@bp.route(V3 + "/auth/tokens", methods=["HEAD"])
def check_token() -> Response:
    _, subject = _subject()
    enforce(caller(), "identity:check_token", {"user_id": subject.user_id})
    return Response(status=200)


@bp.delete(V3 + "/auth/tokens")
def revoke_token() -> Response:
    _, subject = _subject()
    enforce(caller(), "identity:revoke_token", {"user_id": subject.user_id})
    keystone.revoke(cloud(), subject)
    return Response(status=204)


@bp.get(V3 + "/auth/catalog")
def get_catalog() -> Response:
    if token().project_id is None:
        raise ApiError(403, "A project-scoped token is required to produce a service catalog.",
                       service="identity")
    return reply({"catalog": catalog(), "links": _links("auth/catalog")})


@bp.get(V3 + "/auth/projects")
def auth_projects() -> Response:
    return _listing("projects", keystone.projects_of(cloud(), caller().user_id))


@bp.get(V3 + "/auth/domains")
def auth_domains() -> Response:
    return reply({"domains": [], "links": _links("auth/domains")})


# --- collections: views, filters ------------------------------------------------------------

def _links(path: str) -> dict[str, Any]:
    return {"self": f"{base_url()}/identity/v3/{path}", "previous": None, "next": None}


def _view(table: str, item: Resource) -> dict[str, Any]:
    return {**keystone.public(item), "links": {"self": f"{base_url()}/identity/v3/{table}/"
                                                       f"{item['id']}"}}


def _listing(table: str, items: list[Resource]) -> Response:
    """Keystone's list: exact filters on name, domain_id and enabled."""
    for key in ("name", "domain_id", "enabled"):
        if key in request.args:
            want = request.args[key]
            items = [i for i in items if str(i.get(key)).lower() == want.lower()
                     or (key != "enabled" and str(i.get(key)) == want)]
    return reply({table: [_view(table, i) for i in items], "links": _links(table)})


def _all(table: str) -> list[Resource]:
    c = cloud()
    with c.state.lock:
        return list(c.state.table(table).values())


def _get(table: str, item_id: str) -> Resource:
    c = cloud()
    with c.state.lock:
        return keystone.get(c, table, item_id)


def _create(table: str, key: str, rule: str, make: Callable[[Any, dict[str, Any]], Resource]
            ) -> Response:
    enforce(caller(), rule)
    body = body_of(key, "identity", f"Expecting to find {key} in request.")
    c = cloud()
    with c.state.edit():
        item = make(c, body)
    return reply({key: _view(table, item)}, 201)


def _update(table: str, key: str, rule: str, item_id: str,
            change: Callable[[Any, Resource, dict[str, Any]], None]) -> Response:
    enforce(caller(), rule)
    body = body_of(key, "identity", f"Expecting to find {key} in request.")
    c = cloud()
    with c.state.edit():
        item = keystone.get(c, table, item_id)
        change(c, item, body)
    return reply({key: _view(table, item)})


def _delete(rule: str, item_id: str, remove: Callable[[Any, str], None]) -> Response:
    enforce(caller(), rule)
    c = cloud()
    with c.state.edit():
        remove(c, item_id)
    return Response(status=204)


# --- domains --------------------------------------------------------------------------------

@bp.get(V3 + "/domains")
def list_domains() -> Response:
    enforce(caller(), "identity:list_domains")
    return _listing("domains", _all("domains"))


@bp.get(V3 + "/domains/<domain_id>")
def get_domain(domain_id: str) -> Response:
    enforce(caller(), "identity:get_domain")
    return reply({"domain": _view("domains", _get("domains", domain_id))})


# --- projects -------------------------------------------------------------------------------

@bp.get(V3 + "/projects")
def list_projects() -> Response:
    enforce(caller(), "identity:list_projects")
    return _listing("projects", _all("projects"))


@bp.post(V3 + "/projects")
def create_project() -> Response:
    return _create("projects", "project", "identity:create_project", keystone.create_project)


@bp.get(V3 + "/projects/<project_id>")
def get_project(project_id: str) -> Response:
    enforce(caller(), "identity:get_project", {"project_id": project_id})
    return reply({"project": _view("projects", _get("projects", project_id))})


@bp.patch(V3 + "/projects/<project_id>")
def update_project(project_id: str) -> Response:
    return _update("projects", "project", "identity:update_project", project_id,
                   keystone.update_project)


@bp.delete(V3 + "/projects/<project_id>")
def delete_project(project_id: str) -> Response:
    return _delete("identity:delete_project", project_id, keystone.delete_project)


# --- users ----------------------------------------------------------------------------------

@bp.get(V3 + "/users")
def list_users() -> Response:
    enforce(caller(), "identity:list_users")
    return _listing("users", _all("users"))


@bp.post(V3 + "/users")
def create_user() -> Response:
    return _create("users", "user", "identity:create_user", keystone.create_user)


@bp.get(V3 + "/users/<user_id>")
def get_user(user_id: str) -> Response:
    enforce(caller(), "identity:get_user", {"user_id": user_id})
    return reply({"user": _view("users", _get("users", user_id))})


@bp.patch(V3 + "/users/<user_id>")
def update_user(user_id: str) -> Response:
    return _update("users", "user", "identity:update_user", user_id, keystone.update_user)


@bp.delete(V3 + "/users/<user_id>")
def delete_user(user_id: str) -> Response:
    return _delete("identity:delete_user", user_id, keystone.delete_user)


@bp.get(V3 + "/users/<user_id>/projects")
def list_user_projects(user_id: str) -> Response:
    enforce(caller(), "identity:list_user_projects", {"user_id": user_id})
    _get("users", user_id)
    return _listing("projects", keystone.projects_of(cloud(), user_id))


# --- roles ----------------------------------------------------------------------------------

@bp.get(V3 + "/roles")
def list_roles() -> Response:
    enforce(caller(), "identity:list_roles")
    return _listing("roles", _all("roles"))


@bp.post(V3 + "/roles")
def create_role() -> Response:
    return _create("roles", "role", "identity:create_role", keystone.create_role)


@bp.get(V3 + "/roles/<role_id>")
def get_role(role_id: str) -> Response:
    enforce(caller(), "identity:get_role")
    return reply({"role": _view("roles", _get("roles", role_id))})


@bp.delete(V3 + "/roles/<role_id>")
def delete_role(role_id: str) -> Response:
    return _delete("identity:delete_role", role_id, keystone.delete_role)


# --- grants and role assignments ------------------------------------------------------------

GRANT = V3 + "/projects/<project_id>/users/<user_id>/roles/<role_id>"


@bp.put(GRANT)
def add_grant(project_id: str, user_id: str, role_id: str) -> Response:
    enforce(caller(), "identity:create_grant")
    c = cloud()
    with c.state.edit():
        keystone.grant(c, project_id, user_id, role_id)
    return Response(status=204)


@bp.route(GRANT, methods=["GET", "HEAD"])
def check_grant(project_id: str, user_id: str, role_id: str) -> Response:
    enforce(caller(), "identity:check_grant")
    c = cloud()
    with c.state.lock:
        keystone.check_grant(c, project_id, user_id, role_id)
    return Response(status=204)


@bp.delete(GRANT)
def revoke_grant(project_id: str, user_id: str, role_id: str) -> Response:
    enforce(caller(), "identity:revoke_grant")
    c = cloud()
    with c.state.edit():
        keystone.revoke_grant(c, project_id, user_id, role_id)
    return Response(status=204)


@bp.get(V3 + "/projects/<project_id>/users/<user_id>/roles")
def list_grants(project_id: str, user_id: str) -> Response:
    enforce(caller(), "identity:list_grants")
    c = cloud()
    with c.state.lock:
        keystone.get(c, "projects", project_id)
        keystone.get(c, "users", user_id)
        ids = {a["role_id"] for a in keystone.assignments(c, user_id, project_id, None, False)}
        roles = [r for r in c.state.table("roles").values() if r["id"] in ids]
    return reply({"roles": [_view("roles", r) for r in roles],
                  "links": _links(f"projects/{project_id}/users/{user_id}/roles")})


@bp.get(V3 + "/role_assignments")
def list_role_assignments() -> Response:
    """Filters user.id, scope.project.id, role.id; effective (implied roles); include_names."""
    enforce(caller(), "identity:list_role_assignments")
    args = request.args
    effective = "effective" in args and args.get("effective", "").lower() not in ("0", "false")
    names = args.get("include_names", "").lower() in ("1", "true")
    c = cloud()
    root = f"{base_url()}/identity/v3"
    out = []
    with c.state.lock:
        found = keystone.assignments(c, args.get("user.id"), args.get("scope.project.id"),
                                     args.get("role.id"), effective)
        for a in found:
            item: dict[str, Any] = {
                "role": {"id": a["role_id"]}, "user": {"id": a["user_id"]},
                "scope": {"project": {"id": a["project_id"]}},
                "links": {"assignment": f"{root}/projects/{a['project_id']}/users/"
                                        f"{a['user_id']}/roles/{a['role_id']}"}}
            if names:
                item["role"]["name"] = c.state.table("roles")[a["role_id"]]["name"]
                for kind, table, key in (("user", "users", "user_id"),
                                         ("project", "projects", "project_id")):
                    record = c.state.table(table)[a[key]]
                    ref = item[kind] if kind == "user" else item["scope"]["project"]
                    ref.update({"name": record["name"], "domain": _domain_ref(
                        c.state.table("domains"), record["domain_id"])})
            out.append(item)
    return reply({"role_assignments": out, "links": _links("role_assignments")})
