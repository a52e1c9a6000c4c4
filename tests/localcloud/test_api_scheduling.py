"""Placement (server groups, forced hosts) and the faults that act on booting servers."""

from __future__ import annotations

import subprocess
import time

import openstack
import pytest

from pytest_vmtp.localcloud.control import CloudHandle
from pytest_vmtp.localcloud.dataplane.names import Names
from tests.localcloud.conftest import SESSION_PREFIX


@pytest.fixture
def net(conn: openstack.connection.Connection):
    network = conn.network.create_network(name="sched-net")
    conn.network.create_subnet(network_id=network.id, cidr="10.6.0.0/24", ip_version=4)
    servers: list = []
    yield network, servers
    for server in servers:
        conn.compute.delete_server(server, ignore_missing=True)
    for server in servers:
        conn.compute.wait_for_delete(server, interval=0.2, wait=60)
    conn.network.delete_network(network)


def _boot(conn: openstack.connection.Connection, net, name: str, **extra):
    network, servers = net
    server = conn.compute.create_server(name=name, flavor_id="1", image_id=conn.image.find_image(
        "vmtp-local", ignore_missing=False).id, networks=[{"uuid": network.id}], **extra)
    servers.append(server)
    return server


@pytest.mark.parametrize("policy", ["affinity", "anti-affinity"])
def test_server_group_policies(conn: openstack.connection.Connection, net, policy: str) -> None:
    group = conn.compute.create_server_group(name=f"g-{policy}", policy=policy)
    try:
        booted = [_boot(conn, net, f"g{i}", scheduler_hints={"group": group.id})
                  for i in range(2)]
        hosts = {conn.compute.wait_for_server(s, interval=0.2, wait=60).compute_host
                 for s in booted}
        assert len(hosts) == (1 if policy == "affinity" else 2)
        assert set(conn.compute.get_server_group(group.id).member_ids) == {s.id for s in booted}
        if policy == "anti-affinity":  # two hosts only: a third member has nowhere to go
            third = _boot(conn, net, "g3", scheduler_hints={"group": group.id})
            with pytest.raises(openstack.exceptions.ResourceFailure):
                conn.compute.wait_for_server(third, interval=0.2, wait=30)
            assert "No valid host" in conn.compute.get_server(third.id).fault["message"]
    finally:
        for server in net[1]:
            conn.compute.delete_server(server, ignore_missing=True)
            conn.compute.wait_for_delete(server, interval=0.2, wait=60)
        net[1].clear()
        conn.compute.delete_server_group(group)


def _listens_on_22(server_id: str) -> bool:
    netns = Names(SESSION_PREFIX).server_ns(server_id)
    out = subprocess.run(["ip", "netns", "exec", netns, "ss", "-Hltn"], capture_output=True,
                         text=True, check=True).stdout
    return any(line.split()[3].endswith(":22") for line in out.splitlines() if line.split())


def test_no_sshd_fault(admin, conn: openstack.connection.Connection, net) -> None:
    admin.set({"no_sshd": {"count": 1, "name": "^quiet"}})
    normal = _boot(conn, net, "loud")
    quiet = _boot(conn, net, "quiet")
    for server in (normal, quiet):
        assert conn.compute.wait_for_server(server, interval=0.2, wait=60).status == "ACTIVE"
    assert _listens_on_22(normal.id)
    assert not _listens_on_22(quiet.id)


def test_faults_yaml_and_boot_delay(local_cloud: CloudHandle, admin,
                                    conn: openstack.connection.Connection, net) -> None:
    faults = local_cloud.state_dir / "faults.yaml"
    faults.write_text("boot_delay: 1.0\napi_errors:\n"
                      "  - {method: GET, path: '/image/v2/images$', status: 502, count: 1}\n")
    try:
        with pytest.raises(openstack.exceptions.HttpException) as info:
            list(conn.image.images())
        assert info.value.status_code == 502
        started = time.monotonic()
        server = _boot(conn, net, "slow")
        assert conn.compute.get_server(server.id).status == "BUILD"
        conn.compute.wait_for_server(server, interval=0.1, wait=30)
        assert time.monotonic() - started >= 1.0
    finally:
        faults.unlink()
