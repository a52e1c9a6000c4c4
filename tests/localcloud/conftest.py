"""Fixtures of the local cloud's API/CLI tests: one cloud per session, real everything.

The session cloud and the CLI tests' clouds use their own prefixes and address ranges
(198.18.0.0/15, RFC 2544 benchmarking space), so they never collide with the data-path
tests (prefix "vlt", default ranges) or with a developer's running `vlc` cloud.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import openstack
import pytest
import requests

from pytest_vmtp.localcloud import control
from pytest_vmtp.localcloud.control import CloudHandle
from tests.localcloud.lc_support import Api, connect

SESSION_PREFIX = "vlt2"
SESSION_MGMT = "198.18.10.0/24"
SESSION_EXT = "198.18.11.0/24"

@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudHandle]:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    state_dir = tmp_path_factory.mktemp("localcloud")
    try:
        handle = control.start(state_dir, prefix=SESSION_PREFIX, mgmt_cidr=SESSION_MGMT,
                               external_cidr=SESSION_EXT)
    except control.CloudError as exc:
        if "already in use" not in str(exc):
            raise
        # An earlier session of these tests was killed and left its cloud (our prefix, our
        # ranges): remove it as its documented clean-up would, then start again.
        control.clean(state_dir, SESSION_PREFIX)
        handle = control.start(state_dir, prefix=SESSION_PREFIX, mgmt_cidr=SESSION_MGMT,
                               external_cidr=SESSION_EXT)
    try:
        yield handle
    finally:
        try:
            control.stop(handle)
        finally:
            control.clean(state_dir, SESSION_PREFIX)  # a no-op after a clean stop


@pytest.fixture(scope="session")
def conn(local_cloud: CloudHandle) -> Iterator[openstack.connection.Connection]:
    connection = connect(local_cloud)
    yield connection
    connection.close()


@pytest.fixture
def api(local_cloud: CloudHandle, conn: openstack.connection.Connection) -> Api:
    """Raw HTTP requests to the session cloud with a valid token."""
    return Api(local_cloud, conn)


@pytest.fixture
def admin(local_cloud: CloudHandle, conn: openstack.connection.Connection):
    """POST/DELETE on the local cloud's /admin/faults with a valid token."""
    url = f"http://127.0.0.1:{local_cloud.port}/admin/faults"
    headers = {"X-Auth-Token": conn.session.get_token()}

    class Admin:
        def set(self, doc: dict) -> dict:
            resp = requests.post(url, json=doc, headers=headers, timeout=10)
            resp.raise_for_status()
            return resp.json()["faults"]

        def clear(self) -> None:
            requests.delete(url, headers=headers, timeout=10).raise_for_status()

    helper = Admin()
    yield helper
    helper.clear()
