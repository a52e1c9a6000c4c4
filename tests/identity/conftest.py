"""Two local clouds for the identity tests (one xdist group: tests/conftest.py):

- `cloud` (prefix vm4, 198.18.188.0/24 and 198.18.189.0/24): Keystone, policy, isolation and
  the plugin run as a member;
- `cloud_b` (prefix vm4b, 198.18.190.0/24 and 198.18.191.0/24), with 3-second tokens: expiry,
  another cloud's tokens, and a kill -9 and recovery.

Everything is reached as a user would: openstacksdk from the clouds' own clouds.yaml, the
openstack CLI, and raw HTTP where the exact status and body matter.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import openstack
import openstack.config
import pytest
import requests

from pytest_vmtp.localcloud import control
from pytest_vmtp.localcloud.dataplane.cleanup import leftovers

PREFIX, PREFIX_B = "vm4", "vm4b"
MGMT, EXTERNAL = "198.18.188.0/24", "198.18.189.0/24"
MGMT_B, EXTERNAL_B = "198.18.190.0/24", "198.18.191.0/24"
TOKEN_LIFETIME_B = 3.0
Conn = openstack.connection.Connection


def start(state_dir: Any, prefix: str, mgmt: str, external: str,
          token_lifetime: float | None = None) -> control.CloudHandle:
    args = {"prefix": prefix, "mgmt_cidr": mgmt, "external_cidr": external,
            "token_lifetime": token_lifetime}
    try:
        return control.start(state_dir, **args)
    except control.CloudError as exc:
        if "already in use" not in str(exc):
            raise
        control.clean(state_dir, prefix)  # a killed earlier session left our prefix behind
        return control.start(state_dir, **args)


def _cloud(tmp_path_factory: pytest.TempPathFactory, prefix: str, mgmt: str, external: str,
           token_lifetime: float | None = None) -> Iterator[control.CloudHandle]:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    state_dir = tmp_path_factory.mktemp(prefix)
    handle = start(state_dir, prefix, mgmt, external, token_lifetime)
    try:
        yield handle
    finally:
        try:
            control.stop(state_dir)
        finally:
            control.clean(state_dir, prefix)
        assert leftovers(prefix) == {"namespaces": [], "root_links": [], "root_rules": []}


@pytest.fixture(scope="package")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.CloudHandle]:
    yield from _cloud(tmp_path_factory, PREFIX, MGMT, EXTERNAL)


@pytest.fixture(scope="package")
def cloud_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.CloudHandle]:
    yield from _cloud(tmp_path_factory, PREFIX_B, MGMT_B, EXTERNAL_B, TOKEN_LIFETIME_B)


def connect(handle: control.CloudHandle, name: str = control.CLOUD_NAME) -> Conn:
    """openstacksdk on one of the cloud's clouds.yaml entries (local, local-member)."""
    config = openstack.config.OpenStackConfig(config_files=[str(handle.clouds_yaml)])
    return Conn(config=config.get_one(cloud=name))


def connect_as(handle: control.CloudHandle, user: str, password: str, project: str) -> Conn:
    return openstack.connect(
        auth_url=handle.auth_url, username=user, password=password, project_name=project,
        user_domain_name="Default", project_domain_name="Default", region_name="RegionOne",
        load_yaml_config=False, load_envvars=False)


@pytest.fixture(scope="package")
def admin(cloud: control.CloudHandle) -> Iterator[Conn]:
    conn = connect(cloud)
    yield conn
    conn.close()


@pytest.fixture(scope="package")
def member(cloud: control.CloudHandle) -> Iterator[Conn]:
    conn = connect(cloud, control.MEMBER_CLOUD_NAME)
    yield conn
    conn.close()


def http(handle: control.CloudHandle) -> Callable[..., requests.Response]:
    """Raw HTTP to the cloud: http(method, path, token=..., **requests kwargs)."""
    root = f"http://127.0.0.1:{handle.port}"

    def call(method: str, path: str, token: str | None = None, **kwargs: Any
             ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["X-Auth-Token"] = token
        return requests.request(method, root + path, headers=headers, timeout=20, **kwargs)

    return call


def password_token(handle: control.CloudHandle, user: str, password: str,
                   project: str | None) -> requests.Response:
    """POST /v3/auth/tokens with a password (scoped to the project by name, if given)."""
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}}}
    if project:
        auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
    return http(handle)("POST", "/identity/v3/auth/tokens", json={"auth": auth})
