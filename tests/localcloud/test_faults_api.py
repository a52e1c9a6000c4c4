"""API faults of the local cloud as openstacksdk sees them: status codes with Retry-After,
slow answers, reset connections, servers stuck in BUILD, ports that never go ACTIVE, and a
bad fault document refused with the entry and key named."""

from __future__ import annotations

import re
import subprocess
import time

import openstack
import pytest
import requests
from keystoneauth1 import exceptions as ksa

from pytest_vmtp.localcloud.control import CloudHandle
from pytest_vmtp.localcloud.dataplane.names import Names
from tests.localcloud.conftest import SESSION_PREFIX


@pytest.fixture
def net(conn: openstack.connection.Connection):
    network = conn.network.create_network(name="fa-net")
    conn.network.create_subnet(network_id=network.id, cidr="10.152.0.0/24", ip_version=4)
    yield network
    for server in conn.compute.servers(name="^fa-"):
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=0.1, wait=60)
    conn.network.delete_network(network)


def _boot(conn: openstack.connection.Connection, name: str, net) -> openstack.compute.v2.server.Server:
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    return conn.compute.create_server(name=name, image_id=image.id, flavor_id="1",
                                      networks=[{"uuid": net.id}])


def test_503_and_429_carry_retry_after(admin, conn: openstack.connection.Connection) -> None:
    admin.set({"api_errors": [
        {"method": "GET", "path": r"/network/v2\.0/networks$", "status": 503, "retry_after": 2,
         "count": 2},
        {"method": "GET", "path": r"/flavors/detail$", "status": 429, "retry_after": 7}]})
    for _ in range(2):
        with pytest.raises(openstack.exceptions.HttpException) as info:
            list(conn.network.networks())
        assert info.value.status_code == 503
        assert info.value.response.headers["Retry-After"] == "2"
    assert list(conn.network.networks())  # the count is spent
    with pytest.raises(openstack.exceptions.HttpException) as info:
        list(conn.compute.flavors())
    assert info.value.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"
    assert info.value.response.json()["overLimit"]["code"] == 429


def test_slow_answers(admin, conn: openstack.connection.Connection) -> None:
    admin.set({"api_errors": [{"path": "/os-availability-zone", "delay_s": 0.6,
                               "count": "all"}]})
    for _ in range(2):
        start = time.monotonic()
        assert list(conn.compute.availability_zones())
        assert time.monotonic() - start >= 0.6
    admin.clear()
    start = time.monotonic()
    list(conn.compute.availability_zones())
    assert time.monotonic() - start < 0.5


def test_reset_mid_request_is_a_connection_error(admin, local_cloud: CloudHandle,
                                                 conn: openstack.connection.Connection) -> None:
    admin.set({"api_errors": [{"method": "GET", "path": r"/servers/detail$", "reset": True,
                               "count": 1}]})
    with pytest.raises(ksa.ConnectFailure):
        list(conn.compute.servers())
    list(conn.compute.servers())  # once
    log = (local_cloud.state_dir / "server.log").read_text()
    assert "ConnectionResetByFault" not in log and "Error on request" not in log


def test_stuck_in_build_until_deleted_or_cleared(admin, conn, net) -> None:
    admin.set({"boot_errors": [{"name": "^fa-stuck", "stuck": True, "count": "all"}]})
    one, two = _boot(conn, "fa-stuck-1", net), _boot(conn, "fa-stuck-2", net)
    time.sleep(1.5)
    assert conn.compute.get_server(one.id).status == "BUILD"
    conn.compute.delete_server(one)
    conn.compute.wait_for_delete(one, interval=0.1, wait=10)  # deleting is not stuck
    assert conn.compute.get_server(two.id).status == "BUILD"
    admin.clear()
    assert conn.compute.wait_for_server(two, interval=0.1, wait=30).status == "ACTIVE"


def test_port_never_goes_active(admin, conn, net) -> None:
    admin.set({"boot_errors": [{"name": "^fa-pdown", "port_down": True}]})
    down = conn.compute.wait_for_server(_boot(conn, "fa-pdown", net), interval=0.1, wait=30)
    ok = conn.compute.wait_for_server(_boot(conn, "fa-ok", net), interval=0.1, wait=30)
    ports = {s.name: next(conn.network.ports(device_id=s.id)) for s in (down, ok)}
    assert (ports["fa-pdown"].status, ports["fa-ok"].status) == ("DOWN", "ACTIVE")
    ip = ports["fa-pdown"].fixed_ips[0]["ip_address"]
    res = subprocess.run(["ip", "netns", "exec", Names(SESSION_PREFIX).server_ns(ok.id), "ping",
                          "-c", "3", "-i", "0.05", "-W", "1", ip], capture_output=True, text=True)
    assert " 0 received" in res.stdout, res.stdout  # it carries nothing


@pytest.mark.parametrize("doc, message", [
    ({"data_path": [{"server": "x", "rat": "1mbit"}]}, r"^data_path\[0\]: unknown key 'rat'"),
    ({"data_path": [{"host": "compute9", "delay_ms": 1}]},
     r"^data_path\[0\]\.host: no compute host 'compute9'"),
    ({"data_path": [{"network": "n", "rate": "fast"}]},
     r"^data_path\[0\]\.rate: 'fast' is not a rate"),
    ({"api_errors": [{"path": "x", "reset": True, "status": 503}]}, r"^api_errors\[0\]\.reset"),
    ({"boot_errors": [{"stuck": True, "port_down": True}]}, r"^boot_errors\[0\]: give stuck"),
])
def test_bad_document_is_400_naming_entry_and_key(local_cloud: CloudHandle, conn, admin,
                                                  doc, message) -> None:
    admin.set({"boot_delay": 0.1})
    resp = requests.post(f"http://127.0.0.1:{local_cloud.port}/admin/faults", json=doc,
                         headers={"X-Auth-Token": conn.session.get_token()}, timeout=10)
    assert resp.status_code == 400
    error = resp.json()["error"]["message"]
    assert re.match(message, error) and "\n" not in error, error
    kept = requests.get(f"http://127.0.0.1:{local_cloud.port}/admin/faults",
                        headers={"X-Auth-Token": conn.session.get_token()}, timeout=10)
    assert kept.json()["faults"]["boot_delay"] == 0.1  # the document in force stays
