"""Provider networks on the local cloud: Neutron's validation and errors, the data path of
flat and VLAN segments on one physical network, this machine as their gateway, a cloud with
no external network, availability zones per host, and the quotas it enforces.

A cloud of its own (prefix vho, 198.18.172.0/24 management, no external network: its range
198.18.173.0/24 holds the provider subnets), compute1 in az1 and compute2 in az2.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import openstack
import pytest

from pytest_vmtp.localcloud import control, process
from pytest_vmtp.localcloud.control import CloudHandle
from tests.localcloud.lc_support import Api, connect

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

PREFIX = "vho"
MGMT, SPARE = "198.18.172.0/24", "198.18.173.0/24"  # SPARE: the unused external range
ZONES = (("compute1", "az1"), ("compute2", "az2"))


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudHandle]:
    state = tmp_path_factory.mktemp("provider-cloud")
    handle = control.start(state, prefix=PREFIX, mgmt_cidr=MGMT, external_cidr=SPARE,
                           networking=control.Networking(zones=ZONES, external_network=False))
    try:
        yield handle
    finally:
        try:
            control.stop(handle)
        finally:
            control.clean(state, PREFIX)
    assert f"{PREFIX}-" not in subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def conn(cloud: CloudHandle) -> Iterator[openstack.connection.Connection]:
    connection = connect(cloud)
    yield connection
    connection.close()


@pytest.fixture
def api(cloud: CloudHandle, conn: openstack.connection.Connection) -> Api:
    return Api(cloud, conn)


@pytest.fixture
def made(conn: openstack.connection.Connection) -> Iterator[dict[str, list]]:
    """What a test makes, deleted afterwards whatever happened (servers, then networks)."""
    items: dict[str, list] = {"servers": [], "networks": [], "groups": []}
    yield items
    for server in items["servers"]:
        conn.compute.delete_server(server, ignore_missing=True)
    for server in items["servers"]:
        conn.compute.wait_for_delete(server, interval=0.2, wait=60)
    for net in items["networks"]:
        conn.network.delete_network(net, ignore_missing=True)
    for group in items["groups"]:
        conn.network.delete_security_group(group, ignore_missing=True)


def provider(conn, made, name: str, vid: int | None, cidr: str | None = None,
             gateway: str | None = None) -> tuple[object, object | None]:
    kind = {"provider_network_type": "vlan", "provider_segmentation_id": vid} if vid else \
        {"provider_network_type": "flat"}
    net = conn.network.create_network(name=name, provider_physical_network="physnet1", **kind)
    made["networks"].append(net)
    subnet = None
    if cidr:
        subnet = conn.network.create_subnet(network_id=net.id, cidr=cidr, ip_version=4, gateway_ip=gateway)
    return net, subnet


def open_group(conn, made) -> object:
    group = conn.network.create_security_group(name="t-open")
    made["groups"].append(group)
    conn.network.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                            protocol="icmp", remote_ip_prefix="0.0.0.0/0")
    return group


def boot(conn, made, name: str, net, ip: str, zone: str, group) -> str:
    """A server with a fixed IP in zone; its namespace's name."""
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id,
                                        networks=[{"uuid": net.id, "fixed_ip": ip}],
                                        availability_zone=zone, security_groups=[{"name": group.name}])
    made["servers"].append(server)
    server = conn.compute.wait_for_server(server, interval=0.2, wait=60)
    return f"{PREFIX}-vm-{server.id.replace('-', '')[:8]}"


def pings(ip: str, netns: str | None = None) -> bool:
    cmd = (["ip", "netns", "exec", netns] if netns else []) + ["ping", "-c", "1", "-W", "1", ip]
    return subprocess.run(cmd, capture_output=True).returncode == 0


def vlan_ids_on(ifname: str, during: Callable[[], object], between: tuple[str, str]) -> set[int]:
    """802.1Q ids of the IPv4 frames between two addresses that this machine sends out of
    ifname (towards a host) while `during` runs (0: untagged), as the kernel reports them to
    packet sockets (PACKET_AUXDATA). Other frames (the bridge's own IPv6 neighbour and
    multicast chatter, untagged) are not the segment's traffic."""
    ends = {socket.inet_aton(a) for a in between}
    sol_packet, packet_auxdata, tp_status_vlan_valid = 263, 8, 0x10
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    seen: set[int] = set()
    try:
        sock.bind((ifname, 0))
        sock.setsockopt(sol_packet, packet_auxdata, 1)
        sock.settimeout(0.1)
        worker = threading.Thread(target=during)
        worker.start()
        while worker.is_alive():
            try:
                frame, ancillary, _, address = sock.recvmsg(65535, socket.CMSG_SPACE(32))
            except TimeoutError:
                continue
            if address[2] != socket.PACKET_OUTGOING:  # frames from the host: not ours to judge
                continue
            if frame[12:14] != b"\x08\x00" or {frame[26:30], frame[30:34]} != ends:
                continue  # not IPv4 between the two ends (the kernel took the tag out of the frame)
            for level, kind, data in ancillary:
                if level == sol_packet and kind == packet_auxdata:
                    status, _, _, _, _, tci, _ = struct.unpack("IIIHHHH", data[:20])
                    seen.add(tci & 0xFFF if status & tp_status_vlan_valid else 0)
        worker.join()
    finally:
        sock.close()
    return seen


BAD_NETWORKS = [
    ({"provider:network_type": "vlan", "provider:physical_network": "physnet9",
      "provider:segmentation_id": 5}, 400, "physical_network 'physnet9' unknown for VLAN provider network"),
    ({"provider:network_type": "vlan", "provider:physical_network": "physnet1",
      "provider:segmentation_id": 4095}, 400, "segmentation_id out of range (1 through 4094)"),
    ({"provider:network_type": "vlan", "provider:segmentation_id": 5}, 400,
     "segmentation_id requires physical_network for VLAN provider network"),
    ({"provider:network_type": "flat"}, 400, "physical_network required for flat provider network"),
    ({"provider:network_type": "flat", "provider:physical_network": "physnet1",
      "provider:segmentation_id": 7}, 400, "segmentation_id prohibited for flat provider network"),
    ({"provider:network_type": "vxlan", "provider:physical_network": "physnet1"}, 400,
     "provider:physical_network specified for vxlan network"),
    ({"provider:network_type": "gre"}, 400, "network_type value 'gre' not supported"),
    ({"provider:physical_network": "physnet1"}, 400, "network_type required"),
    ({"provider:network_type": "vlan", "provider:physical_network": "physnet1",
      "provider:segmentation_id": "ten"}, 400,
     "Invalid input for provider:segmentation_id. Reason: 'ten' is not an integer."),
    ({"router:external": True}, 400, "this cloud has no external network"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_NETWORKS,
                         ids=[m.split(":")[0][:40] for _, _, m in BAD_NETWORKS])
def test_provider_attributes_are_checked_as_ml2_does(api: Api, body: dict, status: int, message: str) -> None:
    resp = api("POST", "/network/v2.0/networks", json={"network": {"name": "bad", **body}})
    assert resp.status_code == status, resp.text
    assert message in resp.json()["NeutronError"]["message"]
    names = [n["name"] for n in api("GET", "/network/v2.0/networks").json()["networks"]]
    assert "bad" not in names


def test_segments_are_allocated_once_and_never_changed(api: Api, conn, made) -> None:
    vlan, _ = provider(conn, made, "p-vlan", 300)
    assert (vlan.provider_network_type, vlan.provider_physical_network, vlan.provider_segmentation_id,
            vlan.mtu) == ("vlan", "physnet1", 300, 1500)
    again = api("POST", "/network/v2.0/networks", json={"network": {
        "name": "dup", "provider:network_type": "vlan", "provider:physical_network": "physnet1",
        "provider:segmentation_id": 300}})
    assert again.status_code == 409 and again.json()["NeutronError"] == {
        "type": "VlanIdInUse", "detail": "",
        "message": "Unable to create the network. The VLAN 300 on physical network physnet1 is in use."}
    flat, _ = provider(conn, made, "p-flat", None)
    assert (flat.provider_network_type, flat.provider_segmentation_id) == ("flat", None)
    second = api("POST", "/network/v2.0/networks", json={"network": {
        "name": "flat2", "provider:network_type": "flat", "provider:physical_network": "physnet1"}})
    assert second.status_code == 409 and second.json()["NeutronError"]["type"] == "FlatNetworkInUse"
    partial = conn.network.create_network(name="p-any", provider_network_type="vlan")  # an id is picked
    made["networks"].append(partial)
    assert partial.provider_physical_network == "physnet1" and partial.provider_segmentation_id == 1
    tenant = conn.network.create_network(name="p-tenant", provider_network_type="vxlan",
                                         provider_segmentation_id=5000)
    made["networks"].append(tenant)
    assert (tenant.provider_network_type, tenant.mtu) == ("vxlan", 1450)
    change = api("PUT", f"/network/v2.0/networks/{vlan.id}",
                 json={"network": {"provider:segmentation_id": 301}})
    assert change.status_code == 400 and "does not support updating provider attributes" in change.text
    renamed = api("PUT", f"/network/v2.0/networks/{vlan.id}", json={"network": {"name": "p-vlan2"}})
    assert renamed.status_code == 200, renamed.text


def test_a_cloud_without_external_network(conn, api: Api) -> None:
    assert [n.name for n in conn.network.networks()] == []
    links = subprocess.run(["ip", "-br", "addr"], capture_output=True, text=True).stdout
    assert f"{PREFIX}-ex" not in links and SPARE.rsplit(".", 1)[0] + "." not in links
    router = conn.network.create_router(name="t-lonely")  # a router with no gateway is fine
    try:
        assert router.external_gateway_info is None
    finally:
        conn.network.delete_router(router)


def test_provider_subnet_gateway_is_this_machine(conn, api: Api, made) -> None:
    net, subnet = provider(conn, made, "p-gw", 173, "198.18.173.0/28", "198.18.173.1")
    end = f"{PREFIX}-p1.173"
    shown = subprocess.run(["ip", "-br", "addr", "show", end], capture_output=True, text=True).stdout
    assert "198.18.173.1/28" in shown
    router = conn.network.create_router(name="t-r")
    try:
        refused = api("PUT", f"/network/v2.0/routers/{router.id}/add_router_interface",
                      json={"subnet_id": subnet.id})
        assert refused.status_code == 400 and "is this machine's" in refused.text
    finally:
        conn.network.delete_router(router)
    clash = api("POST", "/network/v2.0/subnets", json={"subnet": {
        "network_id": net.id, "cidr": "198.18.172.0/26", "ip_version": 4}})  # the management range
    assert clash.status_code == 400
    assert "198.18.172.0/26 is in use on this machine already" in clash.json()["NeutronError"]["message"]
    conn.network.delete_subnet(subnet)
    gone = subprocess.run(["ip", "-br", "addr", "show", end], capture_output=True, text=True).stdout
    assert "198.18.173.1" not in gone


def test_two_vlans_on_one_physical_network_do_not_see_each_other(conn, made) -> None:
    """VLAN 201 (this machine its gateway), VLAN 202 and the flat network use one subnet range
    and one physical network: only VLAN 201's VMs reach each other (across hosts, tagged) and
    this machine reaches them; nothing crosses between the segments."""
    group = open_group(conn, made)
    a, _ = provider(conn, made, "p-201", 201, "198.18.173.64/26", "198.18.173.65")
    b, _ = provider(conn, made, "p-202", 202, "198.18.173.64/26", None)
    f, _ = provider(conn, made, "p-flat", None, "198.18.173.64/26", None)
    a1 = boot(conn, made, "a1", a, "198.18.173.70", "az1", group)
    boot(conn, made, "a2", a, "198.18.173.71", "az2", group)
    b1 = boot(conn, made, "b1", b, "198.18.173.72", "az2", group)
    boot(conn, made, "f1", f, "198.18.173.73", "az2", group)

    assert pings("198.18.173.71", a1), "a1 -> a2: same VLAN, two hosts"
    assert pings("198.18.173.70"), "this machine -> a1 (its gateway address on VLAN 201)"
    assert not pings("198.18.173.72", a1), "a1 -> b1: another VLAN"
    assert not pings("198.18.173.73", a1), "a1 -> f1: the flat (untagged) segment"
    assert not pings("198.18.173.73", b1), "b1 -> f1"
    assert not pings("198.18.173.72"), "this machine -> b1: not its VLAN"
    # On the wire to compute2, a1's frames carry VLAN 201's tag.
    tags = vlan_ids_on(f"{PREFIX}-p1c2", lambda: pings("198.18.173.71", a1), ("198.18.173.70", "198.18.173.71"))
    assert 201 in tags and not tags - {201}, tags


def test_zones_of_hosts(conn, api: Api, made) -> None:
    assert sorted((s.host, s.availability_zone) for s in conn.compute.services()) == list(ZONES)
    assert [z.name for z in conn.compute.availability_zones()] == ["az1", "az2"]
    net, _ = provider(conn, made, "p-z", 210, "198.18.173.128/28", None)
    group = open_group(conn, made)
    boot(conn, made, "z2", net, "198.18.173.130", "az2", group)
    server = conn.compute.find_server("z2")
    assert (server.availability_zone, server.compute_host) == ("az2", "compute2")
    image = conn.image.find_image("vmtp-local")
    wrong = api("POST", "/compute/v2.1/servers", json={"server": {
        "name": "z-nova", "imageRef": image.id, "flavorRef": "1", "networks": [{"uuid": net.id}],
        "availability_zone": "nova:compute1"}})
    assert wrong.status_code == 400
    assert wrong.json()["badRequest"]["message"] == "The requested availability zone is not available"


def test_quotas_are_enforced(conn, api: Api, made) -> None:
    project = conn.current_project_id
    used = len(list(conn.network.networks()))
    api("PUT", f"/network/v2.0/quotas/{project}", json={"quota": {"network": used + 1}})
    group_quota = api("PUT", f"/compute/v2.1/os-quota-sets/{project}",
                      json={"quota_set": {"server_group_members": 1, "metadata_items": 1}})
    assert group_quota.status_code == 200
    try:
        net, _ = provider(conn, made, "p-q", 220, "198.18.173.160/28", None)
        over = api("POST", "/network/v2.0/networks", json={"network": {"name": "one-too-many"}})
        assert over.status_code == 409 and over.json()["NeutronError"]["message"] == \
            "Quota exceeded for resources: ['network']."
        image = conn.image.find_image("vmtp-local")
        body = {"name": "q", "imageRef": image.id, "flavorRef": "1", "networks": [{"uuid": net.id}],
                "metadata": {"a": "1", "b": "2"}}
        many = api("POST", "/compute/v2.1/servers", json={"server": body})
        assert many.status_code == 403 and "Maximum number of metadata items exceeds 1" in many.text
        group = conn.compute.create_server_group(name="q-group", policy="affinity")
        try:
            body = {**body, "metadata": {}}
            hints = {"os:scheduler_hints": {"group": group.id}}
            first = api("POST", "/compute/v2.1/servers", json={"server": body, **hints})
            assert first.status_code == 202, first.text
            conn.compute.wait_for_server(conn.compute.get_server(first.json()["server"]["id"]),
                                         interval=0.2, wait=60)
            second = api("POST", "/compute/v2.1/servers", json={"server": {**body, "name": "q2"}, **hints})
            assert second.status_code == 403 and "too many servers in group" in second.text
        finally:
            for server in list(conn.compute.servers(name="^q")):
                conn.compute.delete_server(server)
                conn.compute.wait_for_delete(server, interval=0.2, wait=60)
            conn.compute.delete_server_group(group)
    finally:
        api("PUT", f"/network/v2.0/quotas/{project}", json={"quota": {"network": 100}})
        api("PUT", f"/compute/v2.1/os-quota-sets/{project}",
            json={"quota_set": {"server_group_members": 10, "metadata_items": 128}})


def test_kill_9_and_start_again_rebuilds_provider_networks(cloud: CloudHandle, conn, made) -> None:
    """Recovery after a crash: the segment and this machine's gateway come back. (Last in the
    module: the cloud may come back on another port, the module's connection is done.)"""
    net, _ = provider(conn, made, "p-r", 230, "198.18.173.192/28", "198.18.173.193")
    boot(conn, made, "r1", net, "198.18.173.200", "az1", open_group(conn, made))
    assert pings("198.18.173.200")
    os.kill(cloud.pid, signal.SIGKILL)
    process.wait_gone(cloud.pid, 10)
    again = control.start(cloud.state_dir, prefix=PREFIX, mgmt_cidr=MGMT, external_cidr=SPARE,
                          networking=control.Networking(zones=ZONES, external_network=False))
    assert pings("198.18.173.200"), "the VM on VLAN 230 through this machine's gateway again"
    fresh = connect(again)
    try:
        for server in made["servers"]:
            fresh.compute.delete_server(server.id)
        deadline = time.monotonic() + 60
        while any(fresh.compute.find_server(s.id) for s in made["servers"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        for net in made["networks"]:
            fresh.network.delete_network(net.id)
        for group in made["groups"]:
            fresh.network.delete_security_group(group.id)
        made.update(servers=[], networks=[], groups=[])
    finally:
        fresh.close()
