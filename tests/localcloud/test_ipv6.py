"""IPv6 on the local cloud: Neutron's IPv6 subnet fields, IPAM and errors over the real API,
and the data path a guest meets on a real cloud: router advertisements from radvd in the
router's namespace (SLAAC), a DHCPv6 server (dnsmasq) in the network's DHCP namespace for
DHCPv6-stateful, the addresses each VM *learns* (never set by the data path: they are
dynamic, with the lifetimes the RA or the lease gave), IPv6 routing and ip6tables security
groups, and every daemon gone after delete, after a kill -9 and recovery, and after stop.

A cloud of its own: prefix vm5l, 198.18.194.0/24 and 198.18.195.0/24, IPv6 in fd5e:5::/32.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import openstack
import psutil
import pytest

from pytest_vmtp.localcloud import control, process
from pytest_vmtp.localcloud.control import CloudHandle
from pytest_vmtp.localcloud.dataplane.cleanup import leftovers
from pytest_vmtp.localcloud.dataplane.names import Names
from tests.localcloud.lc_support import Api, connect, processes_mentioning
from tests.support.own_cloud import own_cloud

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

PREFIX = "vm5l"
MGMT, EXT = "198.18.194.0/24", "198.18.195.0/24"
NAMES = Names(PREFIX)
MODES = ["dhcpv6-stateful", "dhcpv6-stateless", "slaac"]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudHandle]:
    state = tmp_path_factory.mktemp("ipv6-cloud")
    with own_cloud(state, PREFIX, MGMT, EXT) as handle:
        yield handle
    assert leftovers(PREFIX) == {"namespaces": [], "root_links": [], "root_rules": []}
    assert processes_mentioning(str(state)) == []  # radvd, dnsmasq, dhclient, sshd


@pytest.fixture(scope="module")
def conn(cloud: CloudHandle) -> Iterator[openstack.connection.Connection]:
    connection = connect(cloud)
    yield connection
    connection.close()


@pytest.fixture
def api(cloud: CloudHandle, conn: openstack.connection.Connection) -> Api:
    return Api(cloud, conn)


@pytest.fixture
def net(conn) -> Iterator[object]:
    network = conn.network.create_network(name="v6-api")
    yield network
    conn.network.delete_network(network, ignore_missing=True)


def eui64(cidr: str, mac: str) -> str:
    """RFC 4291 appendix A, written out: the MAC's halves around ff:fe, bit 0x02 flipped."""
    b = bytes.fromhex(mac.replace(":", ""))
    iid = bytes([b[0] ^ 2]) + b[1:3] + b"\xff\xfe" + b[3:]
    return str(ipaddress.IPv6Network(cidr)[int.from_bytes(iid, "big")])


def test_ipv6_subnets_and_their_ports_addresses(conn, net) -> None:
    v4 = conn.network.create_subnet(network_id=net.id, cidr="10.194.9.0/24", ip_version=4)
    slaac = conn.network.create_subnet(network_id=net.id, cidr="fd5e:5:9::/64", ip_version=6,
                                       ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    stateful = conn.network.create_subnet(network_id=net.id, cidr="fd5e:5:10::/64", ip_version=6,
                                          ipv6_address_mode="dhcpv6-stateful", dns_nameservers=["fd5e:5::53"])
    assert (slaac.ip_version, slaac.ipv6_ra_mode, slaac.ipv6_address_mode) == (6, "slaac", "slaac")
    assert (stateful.ipv6_ra_mode, stateful.ipv6_address_mode) == (None, "dhcpv6-stateful")
    assert slaac.gateway_ip == "fd5e:5:9::1" and slaac.is_dhcp_enabled
    assert slaac.allocation_pools == [{"start": "fd5e:5:9::2", "end": "fd5e:5:9:0:ffff:ffff:ffff:ffff"}]

    dhcp = [p for p in conn.network.ports(network_id=net.id) if p.device_owner == "network:dhcp"]
    assert len(dhcp) == 1  # the DHCP agent's port, for the DHCPv6 subnet
    assert {ip["subnet_id"] for ip in dhcp[0].fixed_ips} == {stateful.id, slaac.id}
    port = conn.network.create_port(network_id=net.id)
    by_subnet = {ip["subnet_id"]: ip["ip_address"] for ip in port.fixed_ips}
    assert [ip["subnet_id"] for ip in port.fixed_ips] == [v4.id, stateful.id, slaac.id]  # Neutron's order
    assert by_subnet[slaac.id] == eui64("fd5e:5:9::/64", port.mac_address)
    assert by_subnet[stateful.id] == "fd5e:5:10::3"  # ::1 the gateway, ::2 the DHCP port's
    # A port asking for its IPv4 address only still gets its SLAAC one (not the stateful one).
    other = conn.network.create_port(network_id=net.id, fixed_ips=[{"subnet_id": v4.id}])
    assert [ip["subnet_id"] for ip in other.fixed_ips] == [v4.id, slaac.id]
    assert conn.compute  # (no server: Nova is not needed here)
    conn.network.delete_subnet(slaac)  # its addresses were automatic: they go with it
    assert [ip["subnet_id"] for ip in conn.network.get_port(other).fixed_ips] == [v4.id]
    for p in (port, other):
        conn.network.delete_port(p)
    conn.network.delete_subnet(stateful)
    assert not [p for p in conn.network.ports(network_id=net.id) if p.device_owner == "network:dhcp"]


BAD_SUBNETS = [
    ({"ip_version": 6, "ipv6_ra_mode": "slaac", "ipv6_address_mode": "dhcpv6-stateful"}, "InvalidInput",
     "Invalid input for operation: ipv6_ra_mode set to 'slaac' with ipv6_address_mode set to "
     "'dhcpv6-stateful' is not valid. If both attributes are set, they must be the same value."),
    ({"ip_version": 6, "ipv6_ra_mode": "stateful"}, "HTTPBadRequest",
     f"Invalid input for ipv6_ra_mode. Reason: 'stateful' is not in {MODES}."),
    ({"ip_version": 4, "cidr": "10.194.8.0/24", "ipv6_address_mode": "slaac"}, "InvalidInput",
     "Invalid input for operation: ipv6_address_mode is not valid when ip_version is 4."),
    ({"ip_version": 6, "ipv6_address_mode": "slaac", "enable_dhcp": False}, "InvalidInput",
     "Invalid input for operation: ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp "
     "is set to False."),
    ({"ip_version": 6, "cidr": "fd5e:5:8::/80", "ipv6_address_mode": "dhcpv6-stateless"}, "InvalidInput",
     "Invalid input for operation: Invalid CIDR fd5e:5:8::/80 for IPv6 address mode. OpenStack uses "
     "the EUI-64 address format, which requires the prefix to be /64."),
    ({"ip_version": 6, "cidr": "10.194.8.0/24"}, "InvalidInput",
     "Invalid input for operation: cidr '10.194.8.0/24' does not match the ip_version '6'."),
    ({"ip_version": 6, "dns_nameservers": ["192.0.2.53"]}, "InvalidInput",
     "Invalid input for operation: dns_nameserver '192.0.2.53' does not match the ip_version '6'."),
    ({"ip_version": 5}, "HTTPBadRequest", "Invalid input for ip_version. Reason: '5' is not in [4, 6]."),
]


@pytest.mark.parametrize(("body", "kind", "message"), BAD_SUBNETS)
def test_ipv6_subnet_errors_are_neutrons(api, net, body, kind, message) -> None:
    resp = api("POST", "/network/v2.0/subnets",
               json={"subnet": {"network_id": net.id, "cidr": "fd5e:5:8::/64", **body}})
    assert resp.status_code == 400, resp.text
    assert resp.json()["NeutronError"]["type"] == kind
    assert resp.json()["NeutronError"]["message"] == message


def test_no_chosen_address_on_an_automatic_subnet_and_no_ipv6_floating_ip(conn, api, net) -> None:
    slaac = conn.network.create_subnet(network_id=net.id, cidr="fd5e:5:7::/64", ip_version=6,
                                       ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    resp = api("POST", "/network/v2.0/ports", json={"port": {
        "network_id": net.id, "mac_address": "fa:16:3e:00:00:07",
        "fixed_ips": [{"subnet_id": slaac.id, "ip_address": "fd5e:5:7::7"}]}})
    assert resp.status_code == 400
    assert resp.json()["NeutronError"] == {
        "type": "AllocationOnAutoAddressSubnet", "detail": "",
        "message": f"IPv6 address fd5e:5:7::7 cannot be directly assigned to a port on subnet {slaac.id} "
                   "as the subnet is configured for automatic addresses"}
    port = conn.network.create_port(network_id=net.id, mac_address="fa:16:3e:00:00:07",
                                    fixed_ips=[{"subnet_id": slaac.id, "ip_address": "fd5e:5:7:0:f816:3eff:fe00:7"}])
    ext = conn.network.find_network("public", ignore_missing=False)
    resp = api("POST", "/network/v2.0/floatingips", json={"floatingip": {
        "floating_network_id": ext.id, "port_id": port.id}})
    assert resp.status_code == 400
    assert "does not have any fixed IPv4 address" in resp.json()["NeutronError"]["message"]
    conn.network.delete_port(port)


def ns_of(server) -> str:
    return NAMES.server_ns(server.id)


def in_ns(netns: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, timeout=30)


def global_addresses(netns: str) -> list[str]:
    """`ip -6 addr` lines of eth0's global addresses (with their flags and lifetimes)."""
    out = in_ns(netns, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global").stdout
    return [" ".join(line.split()[3:]) for line in out.splitlines()]


def daemons(state: Path) -> dict[str, list[int]]:
    """Pids of the radvd, dnsmasq and dhclient processes whose files are in the cloud's state."""
    found: dict[str, list[int]] = {"radvd": [], "dnsmasq": [], "dhclient": []}
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        if proc.info["name"] in found and proc.info["status"] != psutil.STATUS_ZOMBIE \
                and str(state) in " ".join(proc.info["cmdline"] or []):
            found[proc.info["name"]].append(proc.pid)
    return found


def test_guests_learn_their_addresses_from_ras_and_dhcpv6(cloud, conn) -> None:
    state = cloud.state_dir
    router = conn.network.create_router(name="v6-router")
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    group = conn.network.create_security_group(name="v6-sg")
    rule = conn.network.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                                   ethertype="IPv6", protocol="ipv6-icmp")
    made: dict[str, tuple] = {}
    for key, mode, host in (("a", "slaac", "compute1"), ("b", "dhcpv6-stateful", "compute2")):
        n = conn.network.create_network(name=f"v6-{key}")
        s4 = conn.network.create_subnet(network_id=n.id, cidr=f"10.194.{ord(key)}.0/24", ip_version=4)
        s6 = conn.network.create_subnet(network_id=n.id, cidr=f"fd5e:5:{key}::/64", ip_version=6,
                                        ipv6_ra_mode=mode, ipv6_address_mode=mode)
        for subnet in (s4, s6):
            conn.network.add_interface_to_router(router, subnet_id=subnet.id)
        server = conn.compute.create_server(name=f"v6-{key}", image_id=image.id, flavor_id="10",
                                            availability_zone=f"nova:{host}", networks=[{"uuid": n.id}],
                                            security_groups=[{"name": group.name}])
        made[key] = (n, s4, s6, server)
    try:
        servers = {k: conn.compute.wait_for_server(v[3], interval=0.1, wait=60) for k, v in made.items()}
        v6 = {k: next(ip["ip_address"] for ip in next(conn.network.ports(device_id=s.id)).fixed_ips
                      if ":" in ip["ip_address"]) for k, s in servers.items()}
        mac_a = next(conn.network.ports(device_id=servers["a"].id)).mac_address
        assert v6["a"] == eui64("fd5e:5:a::/64", mac_a)  # what Neutron computed ...
        lines = {k: global_addresses(ns_of(s)) for k, s in servers.items()}
        # ... is what the guest formed from the router's advertisement: a dynamic /64 (SLAAC,
        # RA lifetimes), not an address set on it (permanent, valid_lft forever)
        assert len(lines["a"]) == 1 and lines["a"][0].startswith(f"{v6['a']}/64 scope global dynamic"), lines
        # ... and what dnsmasq leased to dhclient: a /128 with the lease's lifetimes
        assert len(lines["b"]) == 1 and lines["b"][0].startswith(f"{v6['b']}/128 scope global dynamic"), lines
        for s in servers.values():
            route = in_ns(ns_of(s), "ip", "-6", "route", "show", "default").stdout
            assert "proto ra" in route and "via fe80::" in route  # the router, from its RA
        leases = (state / "dataplane" / f"{PREFIX}-dataplane" / NAMES.dhcp_ns(made["b"][0].id) / "leases")
        assert v6["b"] in leases.read_text()
        running = daemons(state)
        assert len(running["dnsmasq"]) == 1 and len(running["dhclient"]) == 1  # network b's, VM b's
        assert running["radvd"]  # the router's

        # IPv6 is routed between the networks, and filtered by the security group.
        assert in_ns(ns_of(servers["a"]), "ping", "-6", "-c", "2", "-i", "0.1", "-W", "2", v6["b"]).returncode == 0
        conn.network.delete_security_group_rule(rule)
        assert in_ns(ns_of(servers["a"]), "ping", "-6", "-c", "1", "-W", "1", v6["b"]).returncode != 0
        rule = conn.network.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                                       ethertype="IPv6", protocol="ipv6-icmp")

        # kill -9 of the cloud, then start: the guests learn their addresses again.
        info = process.read_server_file(state)
        assert info is not None
        os.kill(info["pid"], signal.SIGKILL)
        process.wait_gone(info["pid"], 10)
        # (a fresh client: the port is the old one only if nobody took it meanwhile)
        conn = connect(control.start(state, prefix=PREFIX, mgmt_cidr=MGMT, external_cidr=EXT))
        assert {k: global_addresses(ns_of(s))[0].split()[0] for k, s in servers.items()} == \
            {"a": f"{v6['a']}/64", "b": f"{v6['b']}/128"}
        again = daemons(state)
        assert {k: len(v) for k, v in again.items() if k != "radvd"} == {"dnsmasq": 1, "dhclient": 1}
        assert again["dnsmasq"] != running["dnsmasq"] and again["radvd"]
        assert in_ns(ns_of(servers["a"]), "ping", "-6", "-c", "2", "-i", "0.1", "-W", "2", v6["b"]).returncode == 0
    finally:
        for _, _, _, server in made.values():
            conn.compute.delete_server(server, ignore_missing=True)
        for _, _, _, server in made.values():
            conn.compute.wait_for_delete(server, interval=0.1, wait=60)
        assert daemons(state)["dhclient"] == []
        for _, s4, s6, _ in made.values():
            for subnet in (s4, s6):
                conn.network.remove_interface_from_router(router, subnet_id=subnet.id)
        assert daemons(state)["radvd"] == []  # no IPv6 interface left on the router
        for n, *_ in made.values():
            conn.network.delete_network(n)
        conn.network.delete_router(router)
        conn.network.delete_security_group(group)
    assert daemons(state) == {"radvd": [], "dnsmasq": [], "dhclient": []}
    assert not [ns for ns in leftovers(PREFIX)["namespaces"] if "-qdhcp-" in ns or "-qrouter-" in ns]
