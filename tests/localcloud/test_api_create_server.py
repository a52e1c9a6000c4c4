"""POST /servers before any boot: which check answers first and how, and that a failed port
leaves no port behind (made ones removed, pre-made ones unbound)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openstack
import pytest

from tests.localcloud.lc_support import Api

SERVERS = "/compute/v2.1/servers"


@pytest.fixture(scope="module")
def refs(conn: openstack.connection.Connection) -> Iterator[dict[str, str]]:
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    net = conn.network.create_network(name="cs-a")
    subnet = conn.network.create_subnet(network_id=net.id, cidr="10.41.0.0/24", ip_version=4)
    yield {"image": image.id, "net": net.id, "subnet": subnet.id,
           "project": conn.current_project_id}
    conn.network.delete_network(net)


def _server(refs: dict[str, str], **fields: Any) -> dict[str, Any]:
    return {"name": "cs-vm", "flavorRef": "1", "imageRef": refs["image"],
            "networks": [{"uuid": refs["net"]}], **fields}


@pytest.mark.parametrize("fields, hints, message", [
    ({"name": " "}, None, "Invalid input for field/attribute name."),
    ({"name": None, "flavorRef": "nope"}, None, "Invalid input for field/attribute name."),
    ({"flavorRef": "nope"}, None, "Flavor nope could not be found."),
    ({"flavorRef": "http://h/compute/v2.1/flavors/1", "imageRef": "nope"}, None,
     "Image nope could not be found."),
    ({"key_name": "nokey"}, None, "Invalid key_name provided."),
    ({"security_groups": [{"name": "nosg"}]}, None, "Security group nosg not found for project "),
    ({"availability_zone": "elsewhere"}, None, "The requested availability zone is not available"),
    ({"availability_zone": "nova:nohost"}, None, "Compute host nohost could not be found."),
    ({}, {"group": "nogroup"}, "Invalid server group nogroup"),
    ({"networks": "bad"}, None, "Invalid input for field/attribute networks."),
    ({"networks": ["bad"]}, None, "Invalid input for field/attribute networks."),
    ({"networks": [{"port": "noport"}]}, None, "Port id noport could not be found."),
    ({"networks": [{}]}, None, "Bad networks format: network uuid is not in proper format"),
    ({"networks": [{"uuid": "nonet"}]}, None, "Network nonet could not be found."),
])
def test_the_first_failing_check_answers_400(api: Api, refs: dict[str, str],
                                             fields: dict[str, Any], hints: dict | None,
                                             message: str) -> None:
    doc: dict[str, Any] = {"server": _server(refs, **fields)}
    if hints is not None:
        doc["os:scheduler_hints"] = hints
    resp = api("POST", SERVERS, json=doc)
    assert resp.status_code == 400
    assert resp.json()["badRequest"]["message"].startswith(message)
    assert not [s for s in api("GET", SERVERS).json()["servers"] if s["name"] == "cs-vm"]


@pytest.mark.parametrize("doc", [{"srv": {}}, {"server": "x"}, None])
def test_a_body_without_a_server_object(api: Api, doc: Any) -> None:
    resp = api("POST", SERVERS, json=doc) if doc is not None else api("POST", SERVERS, data="{")
    assert resp.status_code == 400
    assert resp.json() == {"badRequest": {"code": 400, "message": "The request body is "
                                          "invalid: 'server' is a required property"}}


def test_a_failed_port_rolls_back_the_others(api: Api, conn: openstack.connection.Connection,
                                             refs: dict[str, str]) -> None:
    premade = conn.network.create_port(network_id=refs["net"], name="cs-premade")
    other = conn.network.create_network(name="cs-b")
    subnet = conn.network.create_subnet(network_id=other.id, cidr="10.42.0.0/24", ip_version=4)
    taken = conn.network.create_port(network_id=other.id, name="cs-taken")
    ip = taken.fixed_ips[0]["ip_address"]
    try:
        before = {p.id for p in conn.network.ports()}
        resp = api("POST", SERVERS, json={"server": _server(refs, networks=[
            {"port": premade.id}, {"uuid": refs["net"]}, {"uuid": other.id, "fixed_ip": ip}])})
        assert resp.status_code == 400
        assert resp.json()["badRequest"]["message"] == \
            f"IP address {ip} already allocated in subnet {subnet.id}"
        assert {p.id for p in conn.network.ports()} == before  # the one made is gone
        unbound = conn.network.get_port(premade.id)
        assert (unbound.device_id, unbound.device_owner) == ("", "")
    finally:
        conn.network.delete_port(taken)
        conn.network.delete_port(premade)
        conn.network.delete_network(other)
