"""The VMTP topology on the Linux data path: SSH, ping and nuttcp along VMTP's flows."""

from __future__ import annotations

import json
import subprocess

import pytest

from pytest_vmtp.localcloud.dataplane import SecurityRule
from tests.localcloud.dp_fixtures import (  # noqa: F401  (fixture import)
    GATEWAY_IP,
    PNS_RULES,
    NuttcpServer,
    Topology,
    in_ns,
    nuttcp,
    pytestmark,
    tcp_connects,
    topology,
)


def test_ssh_through_floating_ip(topology: Topology) -> None:
    server = topology.vms["server"]
    res = topology.ssh(server.fip, "ip -o -4 addr show dev eth0; ip link show eth0")
    assert res.returncode == 0, res.stderr
    assert f"inet {server.ip}/24" in res.stdout
    assert "mtu 1450" in res.stdout and "fa:16:3e:00:10:00" in res.stdout


def test_every_server_answers_ssh(topology: Topology) -> None:
    for vm in topology.vms.values():
        res = topology.ssh(vm.fip, "hostname -I")
        assert res.returncode == 0 and vm.ip in res.stdout, (vm, res.stderr)


def test_root_reaches_router_gateway(topology: Topology) -> None:
    assert subprocess.run(["ping", "-c1", "-W2", GATEWAY_IP],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("client, target", [
    ("client_net1_remote", "ip"),   # same network, inter-node (VXLAN)
    ("client_net2", "ip"),          # different network, fixed IP, via the router
    ("client_net2", "fip"),         # different network, floating IP (hairpin NAT)
    ("client_net1_remote", "fip"),  # same network to a floating IP (hairpin, same subnet)
])
def test_ping_and_nuttcp_vm_to_vm(topology: Topology, client: str, target: str) -> None:
    server, src = topology.vms["server"], topology.vms[client]
    dst = getattr(server, target)
    ping = in_ns(src.netns, "ping", "-c2", "-i0.2", "-W2", dst)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    srv = NuttcpServer(server.netns)
    try:
        fields = nuttcp(src.netns, dst)
    finally:
        srv.stop()
    assert fields["rate_Mbps"] > 1


def test_nuttcp_from_root_through_floating_ip(topology: Topology) -> None:
    server = topology.vms["server"]
    srv = NuttcpServer(server.netns)
    try:
        res = subprocess.run(
            ["nuttcp", "-T1", "-p5001", "-P5002", "-fparse", server.fip],
            capture_output=True, text=True, timeout=20)
    finally:
        srv.stop()
    assert res.returncode == 0 and "rate_Mbps=" in res.stdout, res.stdout + res.stderr


@pytest.mark.parametrize("vm", ["server", "client_net2"])
def test_vm_reaches_compute_host(topology: Topology, vm: str) -> None:
    """VMTP's "VM to Host" flows: a VM (SNATed by the router) reaches a host's mgmt IP."""
    host_ip = topology.dp.host_address("compute2")
    res = in_ns(topology.vms[vm].netns, "ping", "-c1", "-W2", host_ip)
    assert res.returncode == 0, res.stdout + res.stderr


def test_spoofed_source_address_is_dropped(topology: Topology) -> None:
    server, peer = topology.vms["server"], topology.vms["client_net1_remote"]
    assert in_ns(server.netns, "ip", "addr", "add", "192.168.1.99/32", "dev", "eth0")\
        .returncode == 0
    try:
        spoofed = in_ns(server.netns, "ping", "-c1", "-W1", "-I", "192.168.1.99", peer.ip)
        assert spoofed.returncode != 0
    finally:
        in_ns(server.netns, "ip", "addr", "del", "192.168.1.99/32", "dev", "eth0")
    assert in_ns(server.netns, "ping", "-c1", "-W2", peer.ip).returncode == 0


def test_nothing_is_forwarded_out_of_the_cloud(topology: Topology) -> None:
    """The root namespace forwards between the cloud's two bridges only: a VM's packet to an
    outside address is dropped at the root's FORWARD chain, never leaves the machine."""
    out = subprocess.run(["iptables", "-w", "-S", "FORWARD"], capture_output=True,
                         text=True).stdout.splitlines()
    ours = [line for line in out if "vlt-dataplane" in line]
    assert len(ours) == 6 and ours[-2:] == [
        '-A FORWARD -i vlt-mgmt -m comment --comment vlt-dataplane -j DROP',
        '-A FORWARD -i vlt-ex -m comment --comment vlt-dataplane -j DROP']


def test_multicast_reaches_a_vm_on_another_host(topology: Topology) -> None:
    """VMTP's multicast rows: a group joined on compute2 gets a sender's datagrams from
    compute1 (flooded to VXLAN peers by head-end replication)."""
    receiver = subprocess.Popen(
        ["ip", "netns", "exec", topology.vms["client_net1_remote"].netns, "python3", "-c",
         "import socket, struct\n"
         "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', 5001))\n"
         "s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,"
         " struct.pack('4s4s', socket.inet_aton('231.1.1.1'), socket.inet_aton('0.0.0.0')))\n"
         "s.settimeout(5); print(s.recvfrom(100)[0].decode(), flush=True)"],
        stdout=subprocess.PIPE, text=True)
    send = ("import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for _ in range(20):\n    s.sendto(b'vmtp', ('231.1.1.1', 5001)); time.sleep(0.1)")
    try:
        in_ns(topology.vms["server"].netns, "python3", "-c", send)
        out, _ = receiver.communicate(timeout=10)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    assert out.strip() == "vmtp"


def test_inter_host_traffic_is_vxlan_encapsulated(topology: Topology) -> None:
    server, remote = topology.vms["server"], topology.vms["client_net1_remote"]
    before = vxlan_tx(topology, remote.host)
    assert in_ns(remote.netns, "ping", "-c5", "-i0.05", "-s1000", server.ip).returncode == 0
    after = vxlan_tx(topology, remote.host)
    assert after["tx_packets"] - before["tx_packets"] >= 5
    assert after["tx_bytes"] - before["tx_bytes"] >= 5 * 1000


def vxlan_tx(topology: Topology, host: str) -> dict[str, int]:
    out = in_ns(topology.dp.host_netns(host), "ip", "-j", "-s", "link", "show", "vxlan-101")
    stats = json.loads(out.stdout)[0]["stats64"]["tx"]
    return {"tx_packets": stats["packets"], "tx_bytes": stats["bytes"]}


def test_port_without_rule_is_blocked_until_allowed(topology: Topology) -> None:
    server, client = topology.vms["server"], topology.vms["client_net1_remote"]
    srv = NuttcpServer(server.netns, ctl=5004)  # listens on 5004: no rule allows it
    try:
        assert not tcp_connects(client.netns, server.ip, 5004)
        assert not tcp_connects(client.netns, server.fip, 5004)
        allow = SecurityRule("ingress", protocol="tcp", port_range_min=5003, port_range_max=5004)
        topology.dp.update_security(server.server_id, PNS_RULES + (allow,))
        assert tcp_connects(client.netns, server.ip, 5004)
        fields = nuttcp(client.netns, server.ip, ctl=5004)
        assert fields["rate_Mbps"] > 1
    finally:
        srv.stop()
        topology.dp.update_security(server.server_id, PNS_RULES)
    assert not tcp_connects(client.netns, server.ip, 5004, timeout=0.5)


def test_empty_rules_block_ingress_but_not_egress_replies(topology: Topology) -> None:
    server, client = topology.vms["server"], topology.vms["client_net1_remote"]
    topology.dp.update_security(server.server_id, ())
    try:
        # Nothing gets in ...
        assert in_ns(client.netns, "ping", "-c1", "-W1", server.ip).returncode != 0
        assert not tcp_connects(client.netns, server.ip, 22, timeout=0.5)
        # ... but the server's own connections go out and their replies come back.
        assert in_ns(server.netns, "ping", "-c1", "-W2", client.ip).returncode == 0
        assert tcp_connects(server.netns, client.ip, 22)
    finally:
        topology.dp.update_security(server.server_id, PNS_RULES)
    assert in_ns(client.netns, "ping", "-c1", "-W2", server.ip).returncode == 0
