"""VMTP's topology built through openstacksdk against the local cloud, then used over SSH."""

from __future__ import annotations

import os
from pathlib import Path

import openstack

from pytest_vmtp.localcloud.control import CloudHandle
from tests.localcloud.conftest import SESSION_MGMT
from tests.localcloud.lc_support import ssh


def _cleanup(conn: openstack.connection.Connection, made: dict) -> None:
    """Delete what the test made, in dependency order, whatever happened before."""
    for fip in made.get("fips", []):
        conn.network.delete_ip(fip, ignore_missing=True)
    for server in made.get("servers", []):
        conn.compute.delete_server(server, ignore_missing=True)
    for server in made.get("servers", []):
        conn.compute.wait_for_delete(server, interval=0.2, wait=60)
    router = made.get("router")
    for subnet in made.get("subnets", []):
        if router is not None:
            try:
                conn.network.remove_interface_from_router(router, subnet=subnet.id)
            except openstack.exceptions.SDKException:
                pass
    if router is not None:
        conn.network.delete_router(router, ignore_missing=True)
    for net in made.get("networks", []):
        conn.network.delete_network(net, ignore_missing=True)
    if made.get("sg") is not None:
        conn.network.delete_security_group(made["sg"], ignore_missing=True)
    conn.compute.delete_keypair("t-key", ignore_missing=True)


def test_hypervisors_expose_host_addresses(conn: openstack.connection.Connection) -> None:
    hyps = sorted(conn.compute.hypervisors(details=True), key=lambda h: h.name)
    assert [h.name for h in hyps] == ["compute1", "compute2"]
    prefix = SESSION_MGMT.rsplit(".", 2)[0]
    assert all(h.host_ip.startswith(prefix) and h.state == "up" for h in hyps)
    services = list(conn.compute.services())
    assert {s.host for s in services} == {"compute1", "compute2"}
    zones = list(conn.compute.availability_zones(details=True))
    assert [z.name for z in zones] == ["nova"]


def test_vmtp_topology_over_openstacksdk(conn: openstack.connection.Connection,
                                         local_cloud: CloudHandle, tmp_path: Path) -> None:
    made: dict = {}
    try:
        ext = conn.network.find_network("public", ignore_missing=False)
        assert ext.is_router_external
        router = conn.network.create_router(name="t-router",
                                            external_gateway_info={"network_id": ext.id})
        made["router"] = router
        made["networks"], made["subnets"] = [], []
        for i in (1, 2):
            net = conn.network.create_network(name=f"t-net{i}")
            made["networks"].append(net)
            assert net.mtu == 1450 and net.provider_network_type == "vxlan"
            subnet = conn.network.create_subnet(network_id=net.id, name=f"t-sub{i}",
                                                cidr=f"10.{i}.0.0/24", ip_version=4)
            made["subnets"].append(subnet)
            conn.network.add_interface_to_router(router, subnet=subnet.id)
        sg = conn.network.create_security_group(name="t-sg")
        made["sg"] = sg
        for proto, low, high in (("icmp", None, None), ("tcp", 22, 22), ("tcp", 5001, 5002)):
            conn.network.create_security_group_rule(
                security_group_id=sg.id, direction="ingress", protocol=proto,
                port_range_min=low, port_range_max=high, remote_ip_prefix="0.0.0.0/0")
        keypair = conn.compute.create_keypair(name="t-key")
        key = tmp_path / "t-key"
        key.write_text(keypair.private_key)
        os.chmod(key, 0o600)

        image = conn.image.find_image("vmtp-local", ignore_missing=False)
        flavor = conn.compute.find_flavor("vmtp", ignore_missing=False)
        layout = [("t-vm1", 0, "nova:compute1", "compute1"),
                  ("t-vm2", 0, "nova:compute2", "compute2"),
                  ("t-vm3", 1, "nova::compute1", "compute1")]
        made["servers"] = [
            conn.compute.create_server(
                name=name, image_id=image.id, flavor_id=flavor.id, key_name="t-key",
                networks=[{"uuid": made["networks"][net].id}], availability_zone=zone,
                security_groups=[{"name": "t-sg"}], metadata={"role": "vmtp"})
            for name, net, zone, _ in layout]
        servers = [conn.compute.wait_for_server(s, interval=0.2, wait=60)
                   for s in made["servers"]]
        for server, (_, _, _, host) in zip(servers, layout, strict=True):
            assert server.status == "ACTIVE"
            assert server.compute_host == host == server.hypervisor_hostname
            assert server.availability_zone == "nova"
            assert server.metadata == {"role": "vmtp"}

        port = next(conn.network.ports(device_id=servers[0].id))
        assert port.mac_address.startswith("fa:16:3e:") and port.binding_host_id == "compute1"
        fip = conn.network.create_ip(floating_network_id=ext.id, port_id=port.id)
        made["fips"] = [fip]
        assert fip.status == "ACTIVE" and fip.fixed_ip_address == port.fixed_ips[0]["ip_address"]
        vm1 = conn.compute.get_server(servers[0].id)
        kinds = {a["OS-EXT-IPS:type"]: a for a in vm1.addresses["t-net1"]}
        assert kinds["floating"]["addr"] == fip.floating_ip_address
        assert kinds["fixed"]["OS-EXT-IPS-MAC:mac_addr"] == port.mac_address

        result = ssh(key, fip.floating_ip_address, "hostname; ip -4 -o addr show")
        assert result.returncode == 0, result.stderr
        assert port.fixed_ips[0]["ip_address"] in result.stdout
        # Across hosts and networks through the router: vm1 (compute1) -> vm2, vm3.
        for other in servers[1:]:
            ip = next(iter(other.addresses.values()))[0]["addr"]
            ping = ssh(key, fip.floating_ip_address, f"ping -c 1 -W 3 {ip}")
            assert ping.returncode == 0, ping.stdout + ping.stderr
        # Rule changes reach running servers: without the ICMP rule vm2 stops answering.
        vm2_ip = next(iter(servers[1].addresses.values()))[0]["addr"]
        icmp = next(r for r in conn.network.security_group_rules(security_group_id=sg.id)
                    if r.protocol == "icmp")
        conn.network.delete_security_group_rule(icmp)
        assert ssh(key, fip.floating_ip_address, f"ping -c 1 -W 1 {vm2_ip}").returncode != 0
        conn.network.create_security_group_rule(security_group_id=sg.id, direction="ingress",
                                                protocol="icmp")
        assert ssh(key, fip.floating_ip_address, f"ping -c 1 -W 3 {vm2_ip}").returncode == 0
    finally:
        _cleanup(conn, made)
    assert not list(conn.compute.servers())
    assert [n.name for n in conn.network.networks()] == ["public"]
