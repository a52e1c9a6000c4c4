"""Error paths answer as a real cloud does: status codes and each service's error body."""

from __future__ import annotations

import uuid

import openstack
import pytest
import requests

from pytest_vmtp.localcloud.control import CloudHandle
from tests.localcloud.lc_support import connect

UNKNOWN = str(uuid.uuid4())


def _url(handle: CloudHandle, path: str) -> str:
    return f"http://127.0.0.1:{handle.port}{path}"


def test_bad_password_is_401(local_cloud: CloudHandle) -> None:
    bad = connect(local_cloud, password="not-the-password")
    with pytest.raises(openstack.exceptions.SDKException, match=r"HTTP 401"):
        bad.authorize()
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": "wrong"}}}}}
    resp = requests.post(_url(local_cloud, "/identity/v3/auth/tokens"), json=body, timeout=10)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == 401
    assert "X-Subject-Token" not in resp.headers


@pytest.mark.parametrize("path", ["/compute/v2.1/servers", "/network/v2.0/networks",
                                  "/image/v2/images", "/admin/faults"])
def test_bad_token_is_401(local_cloud: CloudHandle, path: str) -> None:
    for headers in ({"X-Auth-Token": "gAAAAbogus"}, {}):
        resp = requests.get(_url(local_cloud, path), headers=headers, timeout=10)
        assert resp.status_code == 401
        assert resp.json()["error"]["title"] == "Unauthorized"


def test_token_validation_and_revocation(local_cloud: CloudHandle,
                                         conn: openstack.connection.Connection) -> None:
    own = {"X-Auth-Token": conn.session.get_token()}
    other = connect(local_cloud)
    token = other.session.get_token()
    url = _url(local_cloud, "/identity/v3/auth/tokens")
    resp = requests.get(url, headers=own | {"X-Subject-Token": token}, timeout=10)
    assert resp.status_code == 200
    assert {e["type"] for e in resp.json()["token"]["catalog"]} == {
        "identity", "compute", "network", "image"}
    assert requests.delete(url, headers=own | {"X-Subject-Token": token},
                           timeout=10).status_code == 204
    assert requests.head(url, headers=own | {"X-Subject-Token": token},
                         timeout=10).status_code == 404
    resp = requests.get(_url(local_cloud, "/network/v2.0/networks"),
                        headers={"X-Auth-Token": token}, timeout=10)
    assert resp.status_code == 401


def test_unknown_ids_are_404(local_cloud: CloudHandle,
                             conn: openstack.connection.Connection) -> None:
    for get in (conn.compute.get_server, conn.network.get_network, conn.network.get_port,
                conn.network.get_router, conn.network.get_ip, conn.compute.get_flavor,
                conn.image.get_image, conn.network.get_subnet):
        with pytest.raises(openstack.exceptions.NotFoundException):
            get(UNKNOWN)
    headers = {"X-Auth-Token": conn.session.get_token()}
    nova = requests.get(_url(local_cloud, f"/compute/v2.1/servers/{UNKNOWN}"), headers=headers,
                        timeout=10).json()
    assert nova == {"itemNotFound": {"code": 404,
                                     "message": f"Instance {UNKNOWN} could not be found."}}
    neutron = requests.get(_url(local_cloud, f"/network/v2.0/networks/{UNKNOWN}"),
                           headers=headers, timeout=10).json()["NeutronError"]
    assert neutron["type"] == "NetworkNotFound"
    assert neutron["message"] == f"Network {UNKNOWN} could not be found."


def test_subnet_validation_and_conflicts(conn: openstack.connection.Connection) -> None:
    net = conn.network.create_network(name="e-net")
    try:
        conn.network.create_subnet(network_id=net.id, cidr="10.9.0.0/24", ip_version=4)
        with pytest.raises(openstack.exceptions.BadRequestException) as info:
            conn.network.create_subnet(network_id=net.id, cidr="10.9.0.128/25", ip_version=4)
        assert "overlaps with another subnet" in str(info.value)
        with pytest.raises(openstack.exceptions.BadRequestException) as info:
            conn.network.create_subnet(network_id=net.id, cidr="10.9.300.0/24", ip_version=4)
        assert "not a valid IP subnet" in str(info.value)
        port = conn.network.create_port(network_id=net.id, fixed_ips=[{"ip_address": "10.9.0.7"}])
        with pytest.raises(openstack.exceptions.ConflictException):
            conn.network.create_port(network_id=net.id, fixed_ips=[{"ip_address": "10.9.0.7"}])
        with pytest.raises(openstack.exceptions.ConflictException) as info:
            conn.network.delete_network(net)
        assert "ports still in use" in str(info.value)
        conn.network.delete_port(port)
    finally:
        conn.network.delete_network(net, ignore_missing=True)


def test_tags_and_tag_filters(conn: openstack.connection.Connection) -> None:
    a = conn.network.create_network(name="tag-a")
    b = conn.network.create_network(name="tag-b")
    try:
        conn.network.set_tags(a, ["vmtp", "red"])
        conn.network.set_tags(b, ["vmtp"])
        assert {n.name for n in conn.network.networks(tags="vmtp")} == {"tag-a", "tag-b"}
        assert {n.name for n in conn.network.networks(tags="vmtp,red")} == {"tag-a"}
        assert {n.name for n in conn.network.networks(any_tags="red,blue")} == {"tag-a"}
        assert {n.name for n in conn.network.networks(not_tags="red")} >= {"tag-b"}
        conn.network.remove_tag(a, "red")
        assert conn.network.get_network(a).tags == ["vmtp"]
    finally:
        conn.network.delete_network(a)
        conn.network.delete_network(b)


def test_microversions_are_negotiated(local_cloud: CloudHandle,
                                      conn: openstack.connection.Connection) -> None:
    headers = {"X-Auth-Token": conn.session.get_token()}
    resp = requests.get(_url(local_cloud, "/compute/v2.1/flavors/detail"), timeout=10,
                        headers=headers | {"OpenStack-API-Version": "compute 2.61"})
    assert resp.headers["OpenStack-API-Version"] == "compute 2.61"
    assert resp.headers["X-OpenStack-Nova-API-Version"] == "2.61"
    assert {f["name"] for f in resp.json()["flavors"]} >= {"m1.tiny", "m1.small", "vmtp"}
    resp = requests.get(_url(local_cloud, "/compute/v2.1/servers"), timeout=10,
                        headers=headers | {"X-OpenStack-Nova-API-Version": "2.200"})
    assert resp.status_code == 406
    doc = requests.get(_url(local_cloud, "/compute/v2.1/"), timeout=10).json()["version"]
    assert (doc["min_version"], doc["version"]) == ("2.1", "2.79")


def _net_with_subnet(conn: openstack.connection.Connection, name: str, cidr: str):
    net = conn.network.create_network(name=name)
    conn.network.create_subnet(network_id=net.id, cidr=cidr, ip_version=4)
    return net


def test_quota_exceeded_is_403(local_cloud: CloudHandle,
                               conn: openstack.connection.Connection) -> None:
    project = conn.current_project_id
    net = _net_with_subnet(conn, "q-net", "10.8.0.0/24")
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    servers = []
    try:
        conn.compute.put(f"/os-quota-sets/{project}", json={"quota_set": {"instances": 1}})
        servers.append(conn.compute.create_server(name="q-1", image_id=image.id, flavor_id="1",
                                                  networks=[{"uuid": net.id}]))
        with pytest.raises(openstack.exceptions.ForbiddenException) as info:
            conn.compute.create_server(name="q-2", image_id=image.id, flavor_id="1",
                                       networks=[{"uuid": net.id}])
        assert "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances" \
            in str(info.value)
    finally:
        conn.compute.put(f"/os-quota-sets/{project}", json={"quota_set": {"instances": 10}})
        for server in servers:
            conn.compute.delete_server(server)
            conn.compute.wait_for_delete(server, interval=0.2, wait=60)
        conn.network.delete_network(net)


def test_injected_faults(admin, conn: openstack.connection.Connection) -> None:
    net = _net_with_subnet(conn, "f-net", "10.7.0.0/24")
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    server = None
    try:
        admin.set({"boot_errors": {"count": 1, "message": "Injected: No valid host was found."}})
        server = conn.compute.create_server(name="f-1", image_id=image.id, flavor_id="1",
                                            networks=[{"uuid": net.id}])
        with pytest.raises(openstack.exceptions.ResourceFailure):
            conn.compute.wait_for_server(server, interval=0.2, wait=30)
        failed = conn.compute.get_server(server.id)
        assert failed.status == "ERROR"
        assert failed.fault["message"] == "Injected: No valid host was found."
        assert failed.fault["code"] == 500 and failed.fault["created"]

        admin.set({"api_errors": [{"method": "GET", "path": r"/network/v2\.0/routers$",
                                   "status": 503, "count": 1}]})
        with pytest.raises(openstack.exceptions.HttpException) as info:
            list(conn.network.routers())
        assert info.value.status_code == 503
        list(conn.network.routers())  # the fault fired once
    finally:
        if server is not None:
            conn.compute.delete_server(server)
            conn.compute.wait_for_delete(server, interval=0.2, wait=60)
        conn.network.delete_network(net)
