"""Keystone on the local cloud: users, projects, roles and grants made with the real openstack
CLI; tokens bound to a user, a project and the roles held now; expired, revoked and another
cloud's tokens refused with Keystone's 401; users and tokens kept across a kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from pytest_vmtp.localcloud import control, process

from .conftest import (
    EXTERNAL_B,
    MGMT_B,
    PREFIX_B,
    TOKEN_LIFETIME_B,
    connect,
    http,
    password_token,
    start,
)

OPENSTACK = Path(sys.executable).parent / "openstack"
UNAUTHORIZED = {"error": {"code": 401, "title": "Unauthorized",
                          "message": "The request you have made requires authentication."}}
SERVICES = ("/compute/v2.1/servers", "/network/v2.0/networks", "/image/v2/images",
            "/identity/v3/auth/catalog")


def osc(handle: control.CloudHandle, cloud: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **handle.env(cloud)}
    return subprocess.run([str(OPENSTACK), *args], env=env, capture_output=True, text=True,
                          timeout=60)


def refused_everywhere(handle: control.CloudHandle, token: str) -> None:
    """Every service answers 401 with Keystone's body and challenge, as keystonemiddleware."""
    for path in SERVICES:
        resp = http(handle)("GET", path, token=token)
        assert resp.status_code == 401, (path, resp.status_code, resp.text)
        assert resp.json() == UNAUTHORIZED
        assert resp.headers["WWW-Authenticate"] == 'Keystone uri="/identity"'


def test_the_openstack_cli_makes_users_projects_and_role_assignments(cloud) -> None:
    """As the admin: project, user, `role add`; the new user logs in with member and reader
    (member implies reader); duplicates are 409, a member may change nothing (403)."""
    assert osc(cloud, "local", "project", "create", "--description", "cli", "cli-proj"
               ).returncode == 0
    made = osc(cloud, "local", "user", "create", "--project", "cli-proj", "--password",
               "cli-secret", "-f", "json", "cli-user")
    assert made.returncode == 0, made.stderr
    user = json.loads(made.stdout)
    assert user["name"] == "cli-user" and user["domain_id"] == "default"
    assert "cli-secret" not in made.stdout and "pbkdf2" not in made.stdout
    added = osc(cloud, "local", "role", "add", "--user", "cli-user", "--project", "cli-proj",
                "member")
    assert added.returncode == 0, added.stderr
    listed = osc(cloud, "local", "role", "assignment", "list", "--user", "cli-user", "--names",
                 "-f", "json")
    assert [(a["Role"], a["Project"]) for a in json.loads(listed.stdout)] == [
        ("member", "cli-proj@Default")]

    issued = password_token(cloud, "cli-user", "cli-secret", "cli-proj")
    assert issued.status_code == 201, issued.text
    body = issued.json()["token"]
    assert body["user"]["id"] == user["id"] and body["project"]["name"] == "cli-proj"
    assert sorted(r["name"] for r in body["roles"]) == ["member", "reader"]
    assert password_token(cloud, "cli-user", "wrong", "cli-proj").json() == UNAUTHORIZED
    assert password_token(cloud, "cli-user", "cli-secret", "admin").status_code == 401

    again = osc(cloud, "local", "user", "create", "--password", "x", "cli-user")
    assert again.returncode == 1
    assert ("Conflict occurred attempting to store user - Duplicate entry found with name "
            "cli-user at domain ID default.") in again.stderr
    refused = osc(cloud, "local-member", "user", "create", "--password", "x", "mallory")
    assert refused.returncode == 1 and "You are not authorized to perform the requested " \
        "action: identity:create_user." in refused.stderr

    admin = connect(cloud)
    call = http(cloud)
    member = connect(cloud, "local-member").session.get_token()
    project = admin.identity.find_project("cli-proj", ignore_missing=False)
    conflict = call("POST", "/identity/v3/projects", token=admin.session.get_token(),
                    json={"project": {"name": "cli-proj"}})
    assert conflict.status_code == 409 and conflict.json()["error"]["message"] == (
        "Conflict occurred attempting to store project - Duplicate entry found with name "
        "cli-proj at domain ID default.")
    roles = {r.name: r.id for r in admin.identity.roles()}
    for method, path, rule in (
            ("PUT", f"/projects/{project.id}/users/{user['id']}/roles/{roles['admin']}",
             "create_grant"),
            ("POST", "/projects", "create_project"), ("GET", "/users", "list_users"),
            ("GET", "/roles", "list_roles"), ("GET", f"/users/{user['id']}", "get_user"),
            ("GET", "/role_assignments", "list_role_assignments")):
        resp = call(method, "/identity/v3" + path, token=member, json={"project": {"name": "x"}})
        assert resp.status_code == 403 and resp.json()["error"]["message"] == (
            f"You are not authorized to perform the requested action: identity:{rule}."), path
    assert [a.role["id"] for a in admin.identity.role_assignments(user_id=user["id"])] == [
        roles["member"]]

    admin.identity.unassign_project_role_from_user(project, user["id"], roles["member"])
    assert password_token(cloud, "cli-user", "cli-secret", "cli-proj").status_code == 401
    admin.identity.delete_user(user["id"])
    admin.identity.delete_project(project)
    missing = call("GET", f"/identity/v3/users/{user['id']}", token=admin.session.get_token())
    assert missing.status_code == 404 and missing.json()["error"]["message"] == \
        f"Could not find user: {user['id']}."
    admin.close()


def test_a_token_names_its_user_project_and_the_roles_held_now(cloud, admin) -> None:
    """The token body says who and where; taking the role away, or disabling the user, ends
    the token at once (Keystone checks the assignments on every validation)."""
    project = admin.identity.create_project(name="roles-now", domain_id="default")
    user = admin.identity.create_user(name="roles-now", password="pw-1", domain_id="default")
    member = admin.identity.find_role("member", ignore_missing=False)
    admin.identity.assign_project_role_to_user(project, user, member)
    issued = password_token(cloud, "roles-now", "pw-1", "roles-now")
    token = issued.headers["X-Subject-Token"]
    assert token.startswith("gAAAAA")  # Fernet, as Keystone's
    body = issued.json()["token"]
    assert (body["user"]["name"], body["project"]["id"]) == ("roles-now", project.id)
    assert [c["type"] for c in body["catalog"]] == ["identity", "compute", "network", "image"]
    call = http(cloud)
    assert call("GET", "/compute/v2.1/servers", token=token).status_code == 200
    validated = call("GET", "/identity/v3/auth/tokens", token=token,
                     headers={"X-Subject-Token": token})
    assert validated.status_code == 200 and validated.json()["token"]["user"]["id"] == user.id

    admin.identity.unassign_project_role_from_user(project, user, member)
    refused_everywhere(cloud, token)
    admin.identity.assign_project_role_to_user(project, user, member)
    token = password_token(cloud, "roles-now", "pw-1", "roles-now").headers["X-Subject-Token"]
    admin.identity.update_user(user, is_enabled=False)
    refused_everywhere(cloud, token)
    assert password_token(cloud, "roles-now", "pw-1", "roles-now").status_code == 401
    admin.identity.delete_user(user)
    admin.identity.delete_project(project)


def test_expired_revoked_and_foreign_tokens_get_401(cloud, cloud_b) -> None:
    """cloud_b's tokens live 3 s: used at once they work, then 401 everywhere (and 404 to
    validate); a revoked token is 401 at once; a token of cloud is nothing to cloud_b."""
    password = yaml.safe_load(cloud_b.clouds_yaml.read_text())["clouds"]["local-member"][
        "auth"]["password"]
    issued = password_token(cloud_b, "demo", password, "demo")
    token = issued.headers["X-Subject-Token"]
    lifetime = (time.mktime(time.strptime(issued.json()["token"]["expires_at"][:19],
                                          "%Y-%m-%dT%H:%M:%S"))
                - time.mktime(time.strptime(issued.json()["token"]["issued_at"][:19],
                                            "%Y-%m-%dT%H:%M:%S")))
    assert abs(lifetime - TOKEN_LIFETIME_B) <= 1
    call = http(cloud_b)
    for path in SERVICES:
        assert call("GET", path, token=token).status_code == 200, path
    time.sleep(TOKEN_LIFETIME_B + 0.5)
    refused_everywhere(cloud_b, token)
    fresh = password_token(cloud_b, "demo", password, "demo").headers["X-Subject-Token"]
    gone = call("GET", "/identity/v3/auth/tokens", token=fresh, headers={"X-Subject-Token": token})
    assert gone.status_code == 404 and gone.json()["error"]["code"] == 404

    revoked = password_token(cloud_b, "demo", password, "demo").headers["X-Subject-Token"]
    assert call("DELETE", "/identity/v3/auth/tokens", token=fresh,
                headers={"X-Subject-Token": revoked}).status_code == 204
    refused_everywhere(cloud_b, revoked)
    assert call("GET", "/compute/v2.1/servers", token=fresh).status_code == 200  # not this one

    foreign = connect(cloud).session.get_token()  # the other cloud's admin token
    assert http(cloud)("GET", "/compute/v2.1/servers", token=foreign).status_code == 200
    refused_everywhere(cloud_b, foreign)
    refused_everywhere(cloud_b, "gAAAAA" + "x" * 100)
    # a member may not look at another user's token; an admin may
    admin_token = connect(cloud_b).session.get_token()
    mine = password_token(cloud_b, "demo", password, "demo").headers["X-Subject-Token"]
    peek = call("GET", "/identity/v3/auth/tokens", token=mine,
                headers={"X-Subject-Token": admin_token})
    assert peek.status_code == 403 and peek.json()["error"]["message"] == (
        "You are not authorized to perform the requested action: identity:validate_token.")


def test_users_projects_grants_and_tokens_survive_a_kill_9(cloud_b) -> None:
    """After kill -9 and `start` on the same state dir: the users, projects and grants made
    through the API, their passwords (kept as hashes only), live and revoked tokens. (cloud_b
    starts again first with 10-minute tokens, so that they outlive the restart.)"""
    control.stop(cloud_b.state_dir)
    handle = start(cloud_b.state_dir, PREFIX_B, MGMT_B, EXTERNAL_B, 600)
    admin = connect(handle)
    project = admin.identity.create_project(name="kept", domain_id="default")
    user = admin.identity.create_user(name="kept-user", password="kept-pw-77",
                                      default_project_id=project.id, domain_id="default")
    reader = admin.identity.find_role("reader", ignore_missing=False)
    admin.identity.assign_project_role_to_user(project, user, reader)
    live = password_token(handle, "kept-user", "kept-pw-77", None)
    assert live.json()["token"]["project"]["name"] == "kept"  # the user's default project
    live_token = live.headers["X-Subject-Token"]
    revoked = password_token(handle, "kept-user", "kept-pw-77", "kept").headers[
        "X-Subject-Token"]
    assert http(handle)("DELETE", "/identity/v3/auth/tokens", token=admin.session.get_token(),
                        headers={"X-Subject-Token": revoked}).status_code == 204
    admin.close()
    snapshot = (handle.state_dir / "state.json").read_text()
    passwords = [e["auth"]["password"] for e in yaml.safe_load(
        handle.clouds_yaml.read_text())["clouds"].values()]
    for secret in ("kept-pw-77", *passwords):
        assert secret not in snapshot
    assert snapshot.count("$pbkdf2-sha512$25000$") == 3  # admin, demo, kept-user

    info = process.read_server_file(handle.state_dir)
    os.kill(info["pid"], signal.SIGKILL)
    assert process.wait_gone(info["pid"], 10)
    # (the same port when still free: a client's ephemeral port may have taken it meanwhile)
    handle = start(handle.state_dir, PREFIX_B, MGMT_B, EXTERNAL_B, 600)
    assert handle.pid != info["pid"] and not handle.already_running
    assert [e["auth"]["password"] for e in yaml.safe_load(
        handle.clouds_yaml.read_text())["clouds"].values()] == passwords

    assert password_token(handle, "kept-user", "kept-pw-77", "kept").status_code == 201
    assert password_token(handle, "kept-user", "other", "kept").status_code == 401
    for name in ("local", "local-member"):  # the bootstrap users' passwords too
        conn = connect(handle, name)
        assert conn.compute.get("/servers").status_code == 200
        conn.close()
    # Fernet tokens need no store (the key stays in the state dir); revocations are state
    assert http(handle)("GET", "/compute/v2.1/servers", token=live_token).status_code == 200
    refused_everywhere(handle, revoked)
