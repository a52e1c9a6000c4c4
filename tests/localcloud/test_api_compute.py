"""Nova details clients rely on: imported keys, pre-made ports, tags, filters, limits."""

from __future__ import annotations

import openstack
import pytest

from pytest_vmtp.localcloud import keys


@pytest.fixture
def network(conn: openstack.connection.Connection):
    net = conn.network.create_network(name="c-net")
    subnet = conn.network.create_subnet(network_id=net.id, cidr="10.4.0.0/24", ip_version=4)
    yield net, subnet
    conn.network.delete_network(net)


def test_imported_keypair(conn: openstack.connection.Connection) -> None:
    public, _ = keys.generate("imported")
    kp = conn.compute.create_keypair(name="c-imported", public_key=public)
    try:
        assert kp.private_key is None and kp.fingerprint.count(":") == 15
        assert conn.compute.get_keypair("c-imported").public_key == public
        assert "c-imported" in {k.name for k in conn.compute.keypairs()}
        with pytest.raises(openstack.exceptions.ConflictException):
            conn.compute.create_keypair(name="c-imported", public_key=public)
        with pytest.raises(openstack.exceptions.BadRequestException):
            conn.compute.create_keypair(name="c-bad", public_key="ssh-rsa not-base64!")
    finally:
        conn.compute.delete_keypair("c-imported")
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.compute.get_keypair("c-imported")


def test_server_on_a_premade_port_with_tags(conn: openstack.connection.Connection,
                                            network) -> None:
    net, subnet = network
    port = conn.network.create_port(network_id=net.id, name="c-port",
                                    fixed_ips=[{"subnet_id": subnet.id,
                                                "ip_address": "10.4.0.50"}])
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    server = conn.compute.create_server(name="c-vm", image_id=image.id, flavor_id="1",
                                        networks=[{"port": port.id}], tags=["vmtp", "c"],
                                        availability_zone="nova:compute2")
    try:
        server = conn.compute.wait_for_server(server, interval=0.2, wait=60)
        assert server.addresses["c-net"][0]["addr"] == "10.4.0.50"
        assert server.addresses["c-net"][0]["OS-EXT-IPS-MAC:mac_addr"] == port.mac_address
        bound = conn.network.get_port(port.id)
        assert (bound.device_id, bound.binding_host_id, bound.status) == (
            server.id, "compute2", "ACTIVE")
        assert [s.name for s in conn.compute.servers(tags="vmtp")] == ["c-vm"]
        assert [s.name for s in conn.compute.servers(status="ACTIVE", name="^c-")] == ["c-vm"]
        assert list(conn.compute.servers(tags="other")) == []
        with pytest.raises(openstack.exceptions.ConflictException):
            conn.network.delete_network(net)
        limits = conn.compute.get_limits()
        assert limits.absolute.instances_used == 1 and limits.absolute.instances == 10
    finally:
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=0.2, wait=60)
    unbound = conn.network.get_port(port.id)  # a port the user made outlives the server
    assert unbound.device_id == "" and unbound.fixed_ips[0]["ip_address"] == "10.4.0.50"
    conn.network.delete_port(port)


def test_lookups_by_address_and_host(conn: openstack.connection.Connection, network) -> None:
    net, subnet = network
    port = conn.network.create_port(network_id=net.id, fixed_ips=[{"ip_address": "10.4.0.9"}])
    try:
        found = list(conn.network.ports(fixed_ips=["ip_address=10.4.0.9"]))
        assert [p.id for p in found] == [port.id]
        assert list(conn.network.ports(fixed_ips=["ip_address=10.4.0.10"])) == []
        assert [p.id for p in conn.network.ports(fixed_ips=[f"subnet_id={subnet.id}"])] == [
            port.id]
    finally:
        conn.network.delete_port(port)
    assert conn.compute.find_hypervisor("compute2", ignore_missing=False).name == "compute2"
