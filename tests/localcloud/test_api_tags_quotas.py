"""The tags and quota routes Nova and Neutron share one implementation of, pinned over HTTP:
status codes, tag order, error bodies in each service's format, revisions, ignored names."""

from __future__ import annotations

from collections.abc import Iterator

import openstack
import pytest

from tests.localcloud.lc_support import Api


@pytest.fixture
def server(conn: openstack.connection.Connection) -> Iterator[str]:
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    made = conn.compute.create_server(name="t-vm", image_id=image.id, flavor_id="1",
                                      networks="none")
    yield made.id
    conn.compute.delete_server(made)
    conn.compute.wait_for_delete(made, interval=0.2, wait=60)


def test_server_tags_keep_their_order_and_nova_errors(api: Api, server: str) -> None:
    base = f"/compute/v2.1/servers/{server}/tags"
    for tag in ("b", "a", "a"):
        assert api("PUT", f"{base}/{tag}").status_code == 201
    assert api("GET", base).json() == {"tags": ["b", "a"]}  # added order, no duplicate
    missing = api("DELETE", f"{base}/zzz")
    assert missing.status_code == 404
    assert missing.json() == {"itemNotFound": {"code": 404,
                                               "message": "Tag zzz could not be found."}}
    assert api("DELETE", f"{base}/b").status_code == 204
    assert api("GET", base).json() == {"tags": ["a"]}
    gone = api("GET", "/compute/v2.1/servers/no-such-server/tags")
    assert gone.status_code == 404
    assert gone.json()["itemNotFound"]["message"] == "Instance no-such-server could not be found."


def test_neutron_tags_sorted_revisioned_and_neutron_errors(
        api: Api, conn: openstack.connection.Connection) -> None:
    net = conn.network.create_network(name="t-net")
    router = conn.network.create_router(name="t-router")
    try:
        base = f"/network/v2.0/networks/{net.id}/tags"
        start = net.revision_number
        for tag in ("b", "a", "a"):
            assert api("PUT", f"{base}/{tag}").status_code == 201
        assert api("GET", base).json() == {"tags": ["a", "b"]}
        assert api("GET", f"{base}/a").status_code == 204
        missing = api("GET", f"{base}/zzz")
        assert missing.status_code == 404
        assert missing.json()["NeutronError"]["type"] == "TagNotFound"
        assert missing.json()["NeutronError"]["message"] == \
            f"Tag zzz could not be found for networks {net.id}."
        replaced = api("PUT", base, json={"tags": ["z", "y", "y"]})
        assert replaced.status_code == 200 and replaced.json() == {"tags": ["y", "z"]}
        bad = api("PUT", base, json={"tags": "y"})
        assert bad.status_code == 400
        assert bad.json()["NeutronError"] == {"type": "HTTPBadRequest",
                                              "message": "Invalid tags body.", "detail": ""}
        assert api("DELETE", f"{base}/y").status_code == 204
        assert api("DELETE", f"{base}/y").status_code == 404
        assert api("DELETE", base).status_code == 204
        assert api("GET", base).json() == {"tags": []}
        # two adds, a replace, a removal and a clear: five changes, five revisions
        assert conn.network.get_network(net.id).revision_number == start + 5
        # routers' tags go through the router-action route, to the same code
        routed = api("PUT", f"/network/v2.0/routers/{router.id}/tags", json={"tags": ["r"]})
        assert routed.status_code == 200 and routed.json() == {"tags": ["r"]}
        assert conn.network.get_router(router.id).tags == ["r"]
    finally:
        conn.network.delete_router(router)
        conn.network.delete_network(net)


def test_quota_routes_of_nova_and_neutron(api: Api, conn: openstack.connection.Connection) -> None:
    project = conn.current_project_id
    nova = f"/compute/v2.1/os-quota-sets/{project}"
    neutron = f"/network/v2.0/quotas/{project}"
    quota_set = api("GET", nova).json()["quota_set"]
    assert quota_set["id"] == project and quota_set["cores"] == 20
    assert api("GET", f"{nova}/defaults").json() == {"quota_set": quota_set}
    detail = api("GET", f"{nova}/detail").json()["quota_set"]
    assert detail["cores"]["limit"] == 20 and set(detail["cores"]) == {"limit", "in_use",
                                                                       "reserved"}
    quota = api("GET", neutron).json()["quota"]
    assert quota["network"] == 100 and "project_id" not in quota
    assert api("GET", f"{neutron}/default").json() == {"quota": quota}
    assert api("GET", f"{neutron}/details").json()["quota"]["router"]["limit"] == 10
    listed = api("GET", "/network/v2.0/quotas").json()["quotas"]
    assert listed == [quota | {"project_id": project, "tenant_id": project}]
    try:
        # Each service sets its own names and ignores the other's.
        updated = api("PUT", nova, json={"quota_set": {"cores": 21, "network": 5}})
        assert updated.status_code == 200
        assert updated.json()["quota_set"]["cores"] == 21 and "id" not in updated.json()["quota_set"]
        assert api("GET", neutron).json()["quota"]["network"] == 100
        assert api("PUT", neutron, json={"quota": {"network": 99, "cores": 1}}).json()["quota"][
            "network"] == 99
        assert api("GET", nova).json()["quota_set"]["cores"] == 21
        bad = api("PUT", nova, json={"quota_set": {"cores": "many"}})
        assert bad.status_code == 400 and bad.json() == {"badRequest": {
            "code": 400, "message": "Invalid input for field/attribute cores."}}
        bad = api("PUT", neutron, json={"quota": {"router": None}})
        assert bad.status_code == 400
        assert bad.json()["NeutronError"]["message"] == "Invalid input for router."
        no_body = api("PUT", nova, json={"cores": 1})
        assert no_body.status_code == 400 and no_body.json()["badRequest"]["message"] == \
            "Resource body must contain 'quota_set'."
    finally:
        api("PUT", nova, json={"quota_set": {"cores": 20}})
        api("PUT", neutron, json={"quota": {"network": 100}})
