"""Keystone's logic: domains, projects, users, roles, role assignments, password
authentication, and who a token's bearer is. api/identity.py is the HTTP side.

What a fresh cloud has is `keystone-manage bootstrap`'s plus DevStack's demo project: the
`Default` domain; roles `admin`, `member`, `reader`, where admin implies member and member
implies reader (a token lists the implied roles too); user `admin` with role admin on project
`admin`; user `demo` with role member on project `demo`. bootstrap() runs again on a restart
after a crash: it keeps every user, project and assignment of the snapshot and resets the
two bootstrap passwords to those control.py handed over (as keystone-manage bootstrap does).

Passwords are kept as salted PBKDF2-SHA512 hashes in passlib's format (`_password`, never
shown): the snapshot holds no password. Errors are Keystone's messages and status codes.
Called with the state lock held, as nova.py and neutron.py are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import TYPE_CHECKING, Any

from .common import new_hex_id
from .errors import ApiError
from .policy import Caller
from .state import Resource
from .tokens import Token

if TYPE_CHECKING:
    from .context import Cloud

DEFAULT_DOMAIN = {"id": "default", "name": "Default"}
ADMIN_ROLE, MEMBER_ROLE, READER_ROLE = "admin", "member", "reader"
IMPLIES = {ADMIN_ROLE: (MEMBER_ROLE,), MEMBER_ROLE: (READER_ROLE,)}  # keystone-manage bootstrap
ADMIN_USER = ADMIN_PROJECT = "admin"
MEMBER_USER = MEMBER_PROJECT = "demo"  # DevStack's non-admin user and project
_ROUNDS = 25000  # passlib's pbkdf2_sha512 default order: ~20 ms a check, once per token
UNAUTHORIZED = "The request you have made requires authentication."


def error(status: int, message: str) -> ApiError:
    return ApiError(status, message, service="identity")


# --- passwords ------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data, b"./").decode().rstrip("=")


def hash_password(password: str) -> str:
    """$pbkdf2-sha512$ROUNDS$SALT$HASH (passlib's format, ab64 encoding)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _ROUNDS)
    return f"$pbkdf2-sha512${_ROUNDS}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, hashed: str | None) -> bool:
    try:
        _, scheme, rounds, salt, digest = (hashed or "").split("$")
        raw_salt = base64.b64decode(salt + "=" * (-len(salt) % 4), b"./")
        count = int(rounds)
    except ValueError:
        return False
    if scheme != "pbkdf2-sha512":
        return False
    mine = hashlib.pbkdf2_hmac("sha512", password.encode(), raw_salt, count)
    return hmac.compare_digest(_b64(mine), digest)


# --- lookups --------------------------------------------------------------------------------

def public(item: Resource) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def get(c: Cloud, table: str, item_id: str) -> Resource:
    """The item, else Keystone's 404 (`Could not find user: <id>.`)."""
    item = c.state.table(table).get(item_id)
    if item is None:
        raise error(404, f"Could not find {table.rstrip('s').replace('_', ' ')}: {item_id}.")
    return item


def _domain_id(c: Cloud, ref: object) -> str | None:
    """The domain a `{"id"}` or `{"name"}` reference names (None: no such domain)."""
    if not isinstance(ref, dict) or not ref:
        return None
    for domain in c.state.table("domains").values():
        if ref.get("id") in (None, domain["id"]) and ref.get("name") in (None, domain["name"]):
            return str(domain["id"])
    return None


def _by_ref(c: Cloud, table: str, ref: object) -> Resource | None:
    """A user or project named in an auth request: by id, or by name within a domain."""
    if not isinstance(ref, dict):
        return None
    items = c.state.table(table)
    if ref.get("id"):
        return items.get(str(ref["id"]))
    domain = _domain_id(c, ref.get("domain"))
    return next((i for i in items.values()
                 if i["name"] == ref.get("name") and i["domain_id"] == domain), None)


def role_names(c: Cloud, user_id: str, project_id: str) -> list[str]:
    """The user's roles on the project, implied roles included (Keystone's effective roles)."""
    names: list[str] = []
    for a in c.state.table("role_assignments").values():
        if a["user_id"] == user_id and a["project_id"] == project_id:
            names += [n for n in role_names_of(c, a["role_id"]) if n not in names]
    return names


# --- bootstrap ------------------------------------------------------------------------------

def bootstrap(c: Cloud, admin_password: str, member_password: str) -> None:
    """Make (or keep) the Default domain, the three roles, the admin and demo users and
    projects, and set the two users' passwords."""
    with c.state.edit():
        domains = c.state.table("domains")
        if DEFAULT_DOMAIN["id"] not in domains:
            domains[DEFAULT_DOMAIN["id"]] = {**DEFAULT_DOMAIN, "description": "The default domain",
                                            "enabled": True, "tags": [], "options": {}}
        role_ids = {name: _ensure(c, "roles", name, lambda n: create_role(c, {"name": n}))
                    for name in (ADMIN_ROLE, MEMBER_ROLE, READER_ROLE)}
        for prior, implied in IMPLIES.items():
            prior_role = c.state.table("roles")[role_ids[prior]]
            prior_role["_implies"] = sorted({*prior_role.get("_implies", []),
                                             *(role_ids[name] for name in implied)})
        for user, project, role, password in ((ADMIN_USER, ADMIN_PROJECT, ADMIN_ROLE,
                                               admin_password),
                                              (MEMBER_USER, MEMBER_PROJECT, MEMBER_ROLE,
                                               member_password)):
            project_id = _ensure(c, "projects", project,
                                 lambda n: create_project(c, {"name": n}))
            user_id = _ensure(c, "users", user, lambda n, p=project_id: create_user(
                c, {"name": n, "default_project_id": p}))
            c.state.table("users")[user_id]["_password"] = hash_password(password)
            grant(c, project_id, user_id, role_ids[role])


def _ensure(c: Cloud, table: str, name: str, make: Any) -> str:
    for item in c.state.table(table).values():
        if item["name"] == name and item.get("domain_id") in (None, DEFAULT_DOMAIN["id"]):
            return str(item["id"])
    return str(make(name)["id"])


def admin_caller(c: Cloud) -> Caller:
    """The bootstrap admin in project admin: who owns what the cloud makes for itself."""
    user = next(u for u in c.state.table("users").values() if u["name"] == ADMIN_USER)
    project = next(p for p in c.state.table("projects").values() if p["name"] == ADMIN_PROJECT)
    return Caller(user["id"], project["id"], frozenset(role_names(c, user["id"], project["id"])),
                  user["name"], project["name"])


# --- authentication and tokens --------------------------------------------------------------

def authenticate(c: Cloud, auth: dict[str, Any]) -> tuple[str, Token]:
    """A token for POST /v3/auth/tokens (password or token method, optional project scope);
    401 for wrong credentials, a disabled user or a project without a role for them."""
    identity: dict[str, Any] = auth["identity"] if isinstance(auth.get("identity"), dict) else {}
    methods = identity.get("methods") or []
    if not isinstance(methods, list) or not methods:
        raise error(400, "Expecting to find identity.methods in request.")
    expires_at = None
    with c.state.lock:
        if "password" in methods:
            ref = _mapping(identity.get("password")).get("user")
            if not isinstance(ref, dict):
                raise error(400, "Expecting to find identity.password.user in request.")
            user = _by_ref(c, "users", ref)
            if user is None or not check_password(str(ref.get("password", "")),
                                                  user.get("_password")):
                raise error(401, UNAUTHORIZED)
        elif "token" in methods:
            old = caller_token(c, str(_mapping(identity.get("token")).get("id", "")))
            if old is None:
                raise error(404, "Could not find token.")
            user, expires_at = c.state.table("users")[old.user_id], old.expires_at
        else:
            raise error(401, f"Unsupported authentication method: {methods[0]}.")
        if not user["enabled"]:
            raise error(401, UNAUTHORIZED)
        project_id = _scope(c, user, auth.get("scope"))
    return c.tokens.issue(user["id"], project_id, tuple(methods), expires_at)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _scope(c: Cloud, user: Resource, scope: object) -> str | None:
    """The project the token is for: the scope asked, else the user's default project when
    they have a role there, else none (an unscoped token)."""
    if scope in (None, {}):
        default = user.get("default_project_id")
        if default and default in c.state.table("projects") and role_names(c, user["id"], default):
            return str(default)
        return None
    if not isinstance(scope, dict) or "project" not in scope:
        raise error(401, UNAUTHORIZED)  # domain and system scopes: not here
    project = _by_ref(c, "projects", scope["project"])
    if project is None or not project["enabled"] or not role_names(c, user["id"], project["id"]):
        raise error(401, UNAUTHORIZED)
    return str(project["id"])


def caller_token(c: Cloud, value: str | None) -> Token | None:
    """The token if it is this cloud's, live, not revoked, and its user (and project, and a
    role there) still exist and are enabled; else None (Keystone's 401 / 404)."""
    token = c.tokens.read(value)
    if token is None:
        return None
    with c.state.lock:
        if token.audit_id in c.state.table("revoked_tokens"):
            return None
        user = c.state.table("users").get(token.user_id)
        if user is None or not user["enabled"]:
            return None
        if token.project_id is not None:
            project = c.state.table("projects").get(token.project_id)
            if project is None or not project["enabled"] or \
                    not role_names(c, token.user_id, token.project_id):
                return None
    return token


def caller_of(c: Cloud, token: Token) -> Caller:
    with c.state.lock:
        user = c.state.table("users")[token.user_id]
        project = c.state.table("projects").get(token.project_id or "") or {}
        roles = role_names(c, token.user_id, token.project_id) if token.project_id else []
        return Caller(user["id"], str(project.get("id", "")), frozenset(roles), user["name"],
                      str(project.get("name", "")))


def revoke(c: Cloud, token: Token) -> None:
    """Keystone's revocation event by audit id, kept until the token would have expired."""
    with c.state.edit():
        revoked = c.state.table("revoked_tokens")
        now = time.time()
        for audit_id in [a for a, r in revoked.items() if r["expires_at"] <= now]:
            del revoked[audit_id]
        revoked[token.audit_id] = {"id": token.audit_id, "expires_at": token.expires_at}


# --- domains, projects, users, roles ----------------------------------------------------------

def _name(body: dict[str, Any], kind: str) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise error(400, f"Invalid input for field 'name': the {kind} needs a name of "
                         "1-255 characters.")
    return name


def _domain_of(c: Cloud, body: dict[str, Any]) -> str:
    domain_id = str(body.get("domain_id") or DEFAULT_DOMAIN["id"])
    get(c, "domains", domain_id)
    return domain_id


def _unique(c: Cloud, table: str, kind: str, name: str, domain_id: str | None,
            but: str | None = None) -> None:
    for item in c.state.table(table).values():
        if item["name"] == name and item.get("domain_id") == domain_id and item["id"] != but:
            where = f" at domain ID {domain_id}" if domain_id else ""
            raise error(409, f"Conflict occurred attempting to store {kind} - Duplicate entry "
                             f"found with name {name}{where}.")


def _enabled(body: dict[str, Any]) -> bool:
    value = body.get("enabled", True)
    if not isinstance(value, bool):
        raise error(400, f"Invalid input for field 'enabled': {value!r} is not of type 'boolean'")
    return value


def create_project(c: Cloud, body: dict[str, Any]) -> Resource:
    name = _name(body, "project")
    domain_id = _domain_of(c, body)
    _unique(c, "projects", "project", name, domain_id)
    project: Resource = {"id": new_hex_id(), "name": name, "domain_id": domain_id,
               "description": str(body.get("description") or ""), "enabled": _enabled(body),
               "is_domain": False, "parent_id": domain_id, "tags": list(body.get("tags") or []),
               "options": {}}
    c.state.table("projects")[project["id"]] = project
    return project


def update_project(c: Cloud, project: Resource, body: dict[str, Any]) -> None:
    if "name" in body:
        _unique(c, "projects", "project", _name(body, "project"), project["domain_id"],
                project["id"])
        project["name"] = body["name"]
    if "enabled" in body:
        project["enabled"] = _enabled(body)
    if "description" in body:
        project["description"] = str(body["description"] or "")


def delete_project(c: Cloud, project_id: str) -> None:
    _delete_with_grants(c, "projects", project_id=project_id)


def create_user(c: Cloud, body: dict[str, Any]) -> Resource:
    name = _name(body, "user")
    domain_id = _domain_of(c, body)
    _unique(c, "users", "user", name, domain_id)
    user: Resource = {"id": new_hex_id(), "name": name, "domain_id": domain_id,
                      "enabled": _enabled(body), "password_expires_at": None, "options": {}}
    _set_user_fields(c, user, body)
    c.state.table("users")[user["id"]] = user
    return user


def _set_user_fields(c: Cloud, user: Resource, body: dict[str, Any]) -> None:
    if body.get("default_project_id"):
        get(c, "projects", str(body["default_project_id"]))
        user["default_project_id"] = str(body["default_project_id"])
    for key in ("description", "email"):
        if key in body:
            user[key] = body[key]
    if body.get("password") is not None:
        user["_password"] = hash_password(str(body["password"]))


def update_user(c: Cloud, user: Resource, body: dict[str, Any]) -> None:
    if "name" in body:
        _unique(c, "users", "user", _name(body, "user"), user["domain_id"], user["id"])
        user["name"] = body["name"]
    if "enabled" in body:
        user["enabled"] = _enabled(body)
    _set_user_fields(c, user, body)


def delete_user(c: Cloud, user_id: str) -> None:
    _delete_with_grants(c, "users", user_id=user_id)


def _delete_with_grants(c: Cloud, table: str, **which: str) -> None:
    """Delete a project or user (404 if there is none) and the role assignments naming it,
    as Keystone does."""
    [resource_id] = which.values()
    get(c, table, resource_id)
    _drop_assignments(c, **which)
    del c.state.table(table)[resource_id]


def create_role(c: Cloud, body: dict[str, Any]) -> Resource:
    name = _name(body, "role")
    _unique(c, "roles", "role", name, None)
    role: Resource = {"id": new_hex_id(), "name": name, "domain_id": None,
            "description": body.get("description"), "options": {}, "_implies": []}
    c.state.table("roles")[role["id"]] = role
    return role


def delete_role(c: Cloud, role_id: str) -> None:
    get(c, "roles", role_id)
    _drop_assignments(c, role_id=role_id)
    for role in c.state.table("roles").values():
        if role_id in role.get("_implies", []):
            role["_implies"].remove(role_id)
    del c.state.table("roles")[role_id]


# --- role assignments -----------------------------------------------------------------------

def _key(project_id: str, user_id: str, role_id: str) -> str:
    return f"{user_id}|{project_id}|{role_id}"


def grant(c: Cloud, project_id: str, user_id: str, role_id: str) -> None:
    for table, item_id in (("projects", project_id), ("users", user_id), ("roles", role_id)):
        get(c, table, item_id)
    c.state.table("role_assignments")[_key(project_id, user_id, role_id)] = {
        "user_id": user_id, "project_id": project_id, "role_id": role_id}


def _assignment_missing(project_id: str, user_id: str, role_id: str) -> ApiError:
    return error(404, f"Could not find role assignment with role: {role_id}, user or group: "
                      f"{user_id}, project, domain, or system: {project_id}.")


def check_grant(c: Cloud, project_id: str, user_id: str, role_id: str) -> None:
    for table, item_id in (("projects", project_id), ("users", user_id), ("roles", role_id)):
        get(c, table, item_id)
    if _key(project_id, user_id, role_id) not in c.state.table("role_assignments"):
        raise _assignment_missing(project_id, user_id, role_id)


def revoke_grant(c: Cloud, project_id: str, user_id: str, role_id: str) -> None:
    check_grant(c, project_id, user_id, role_id)
    del c.state.table("role_assignments")[_key(project_id, user_id, role_id)]


def _drop_assignments(c: Cloud, **match: str) -> None:
    table = c.state.table("role_assignments")
    for key in [k for k, a in table.items() if all(a[f] == v for f, v in match.items())]:
        del table[key]


def assignments(c: Cloud, user_id: str | None, project_id: str | None, role_id: str | None,
                effective: bool) -> list[dict[str, str]]:
    """(user, project, role) triples matching the filters; effective: implied roles too."""
    out: list[dict[str, str]] = []
    for a in c.state.table("role_assignments").values():
        if user_id not in (None, a["user_id"]) or project_id not in (None, a["project_id"]):
            continue
        role_ids = [a["role_id"]]
        if effective:
            role_ids = [r["id"] for r in c.state.table("roles").values()
                        if r["name"] in role_names_of(c, a["role_id"])]
        for rid in role_ids:
            item = {"user_id": a["user_id"], "project_id": a["project_id"], "role_id": rid}
            if role_id in (None, rid) and item not in out:
                out.append(item)
    return out


def role_names_of(c: Cloud, role_id: str) -> list[str]:
    """A role's name and the names of the roles it implies, transitively."""
    roles = c.state.table("roles")
    found: list[str] = []
    todo = [role_id]
    while todo:
        role = roles.get(todo.pop(0))
        if role is None or role["name"] in found:
            continue
        found.append(role["name"])
        todo += role.get("_implies", [])
    return found


def projects_of(c: Cloud, user_id: str) -> list[Resource]:
    """The projects where the user has a role (GET /v3/users/{id}/projects, /auth/projects)."""
    ids = {a["project_id"] for a in c.state.table("role_assignments").values()
           if a["user_id"] == user_id}
    return [p for p in c.state.table("projects").values() if p["id"] in ids]
