"""Keystone v3 subset: version discovery, password tokens with a catalog, validation."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request

from ..errors import ApiError
from ..state import Identity
from ..tokens import Token
from .base import base_url, body_of, cloud, guard, reply

bp = Blueprint("identity", __name__, url_prefix="/identity")
guard(bp, "identity", public=("versions", "v3", "issue_token"))

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


@bp.get("/v3", strict_slashes=False)
def v3() -> Response:
    return reply({"version": _v3_doc()})


def catalog() -> list[dict[str, Any]]:
    root = base_url()
    return [{"type": kind, "name": name, "id": kind,
             "endpoints": [{"id": f"{kind}-public", "interface": "public", "region": REGION,
                            "region_id": REGION, "url": root + path}]}
            for kind, name, path in SERVICES]


def token_body(token: Token) -> dict[str, Any]:
    ident = cloud().state.identity
    domain = {"id": ident.domain_id, "name": ident.domain_name}
    return {"token": {
        "methods": ["password"], "audit_ids": [token.audit_id],
        "issued_at": _iso(token.issued_at), "expires_at": _iso(token.expires_at),
        "user": {"id": ident.user_id, "name": ident.user_name, "domain": domain,
                 "password_expires_at": None},
        "project": {"id": ident.project_id, "name": ident.project_name, "domain": domain},
        "roles": [{"id": ident.role_id, "name": "admin"}],
        "is_domain": False, "catalog": catalog(),
    }}


def _domain_ok(spec: object) -> bool:
    ident = cloud().state.identity
    if not isinstance(spec, dict):
        return False
    return spec.get("id") in (ident.domain_id, None) and \
        spec.get("name") in (ident.domain_name, None) and bool(spec)


def _check_password(auth: dict[str, Any]) -> None:
    c = cloud()
    ident = c.state.identity
    methods = (auth.get("identity") or {}).get("methods") or []
    user = ((auth.get("identity") or {}).get("password") or {}).get("user") or {}
    if "password" not in methods or not isinstance(user, dict):
        raise ApiError(400, "Expecting to find identity.password in request.",
                       service="identity")
    name_ok = user.get("id") == ident.user_id or (
        user.get("name") == ident.user_name and _domain_ok(user.get("domain")))
    password = str(user.get("password", ""))
    if not (name_ok and hmac.compare_digest(password.encode(), c.password.encode())):
        raise ApiError(401, "The request you have made requires authentication.",
                       service="identity")
    scope = auth.get("scope")
    if isinstance(scope, dict) and "project" in scope:
        proj = scope["project"] or {}
        if not (proj.get("id") == ident.project_id or (
                proj.get("name") == ident.project_name and _domain_ok(proj.get("domain")))):
            raise ApiError(401, "The request you have made requires authentication.",
                           service="identity")


@bp.post("/v3/auth/tokens")
def issue_token() -> Response:
    auth = body_of("auth", "identity", "Expecting to find auth in request.")
    _check_password(auth)
    value, token = cloud().tokens.issue()
    return reply(token_body(token), 201, {"X-Subject-Token": value})


def _subject() -> tuple[str, Token]:
    value = request.headers.get("X-Subject-Token", "")
    token = cloud().tokens.get(value)
    if token is None:
        raise ApiError(404, f"Could not find token: {value[:8]}...", service="identity")
    return value, token


@bp.get("/v3/auth/tokens")
def validate_token() -> Response:
    value, token = _subject()
    return reply(token_body(token), 200, {"X-Subject-Token": value})


@bp.route("/v3/auth/tokens", methods=["HEAD"])
def check_token() -> Response:
    _subject()
    return Response(status=200)


@bp.delete("/v3/auth/tokens")
def revoke_token() -> Response:
    value, _ = _subject()
    cloud().tokens.revoke(value)
    return Response(status=204)


@bp.get("/v3/auth/catalog")
def get_catalog() -> Response:
    return reply({"catalog": catalog()})


@bp.get("/v3/projects")
def list_projects() -> Response:
    ident = cloud().state.identity
    return reply({"projects": [_project(ident)]})


@bp.get("/v3/projects/<project_id>")
def get_project(project_id: str) -> Response:
    ident = cloud().state.identity
    if project_id not in (ident.project_id, ident.project_name):
        raise ApiError(404, f"Could not find project: {project_id}.", service="identity")
    return reply({"project": _project(ident)})


def _project(ident: Identity) -> dict[str, Any]:
    return {"id": ident.project_id, "name": ident.project_name, "domain_id": ident.domain_id,
            "enabled": True, "is_domain": False, "parent_id": ident.domain_id,
            "description": "", "tags": []}


