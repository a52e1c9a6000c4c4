"""The run's security group on the local cloud, whose groups iptables enforces at each port:
only the selected tool's ports (plus SSH and ICMP), only from where the flows come from.

One run: a server VM on network 1 and a client on network 2 (through the router). A listener
on the server VM answers on nuttcp's port and on iperf3's; who reaches which is the test.
"""

from __future__ import annotations

import ipaddress
import shlex
import socket
import subprocess
import sys
import time

import pytest

from pytest_vmtp.cloud import Topology, cleanup, new_run_id
from pytest_vmtp.measure.hostspec import SshTarget
from pytest_vmtp.measure.ssh_runner import SshRunner
from pytest_vmtp.run_cloud import security_sources, tool_ports

from .conftest import EXTERNAL_CIDR, PREFIX, local_settings

LISTENER = """
import select, socket
socks = []
for port in (5001, 5201):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", port)); s.listen(); socks.append(s)
print("listening", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        s.accept()[0].close()
"""
CONNECT = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2); print('open')"


@pytest.fixture(scope="module")
def run(conn, tmp_path_factory: pytest.TempPathFactory):
    """The run's topology with the plugin's nuttcp ports, SSH from this machine only, no
    external host; runners on the server and the network-2 client; the listener started."""
    rid = new_run_id()
    shared = tmp_path_factory.mktemp("sg")
    settings = local_settings(tcp_ports=((5001, 5002),), udp_ports=((5001, 5001),), flow_sources=(),
                              ssh_sources=("this-machine",))
    topo = Topology(conn, settings, rid, shared / "topology")
    runners: list[SshRunner] = []
    try:
        vms = topo.vms(["server", "diff_intra"])
        for role in ("server", "diff_intra"):
            vm = vms[role]
            runners.append(SshRunner(SshTarget(
                host=vm.ssh_ip, user=vm.login_user, key_file=vm.key_path,
                known_hosts=str(shared / "known_hosts"), host_key_policy="accept-new")))
        listener = runners[0].start(f"python3 -u -c {shlex.quote(LISTENER)}")
        for _ in range(100):
            if "listening" in listener.log():
                break
            time.sleep(0.05)
        yield topo, vms, runners[0], runners[1]
    finally:
        for runner in runners:
            runner.close()
        cleanup(conn, rid)


def _reaches(client: SshRunner, address: str, port: int) -> bool:
    return client.run(f"python3 -c {shlex.quote(CONNECT)} {address} {port}", timeout=20).stdout.strip() == "open"


def _reaches_from_here(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
        return True
    except OSError:
        return False


def test_rules_name_only_the_flows_sources_and_the_tools_ports(run, conn):
    topo, vms, _, _ = run
    group = topo.built()["resources"]["security_group"]
    rules = [r for r in conn.network.security_group_rules(security_group_id=group["id"]) if r.direction == "ingress"]
    router = topo.built()["resources"]["router"]
    fips = {f"{vm.floating_ip}/32" for vm in vms.values()}
    allowed = {"192.168.1.0/24", "192.168.2.0/24", *(f"{ip}/32" for ip in router["gateway_ips"]), *fips}
    here = {r.remote_ip_prefix for r in rules if r.port_range_min == 22}
    assert len(here) == 1 and ipaddress.ip_network(next(iter(here))).prefixlen == 32
    for rule in rules:
        assert rule.remote_ip_prefix not in (None, "0.0.0.0/0"), rule
        if rule.port_range_min == 22:
            continue
        assert rule.remote_ip_prefix in allowed, rule
        ports = (rule.protocol, rule.port_range_min, rule.port_range_max)
        assert ports in {("icmp", None, None), ("tcp", 5001, 5002), ("udp", 5001, 5001)}, rule
    assert {r.remote_ip_prefix for r in rules if r.protocol == "tcp" and r.port_range_min == 5001} == allowed


def test_the_tools_port_is_open_to_the_flows_and_no_other_port(run):
    _, vms, _, client = run
    server = vms["server"]
    assert _reaches(client, server.fixed_ip, 5001)  # across the router, from network 2's subnet
    assert _reaches(client, server.floating_ip, 5001)  # through NAT, from the client's floating IP
    assert not _reaches(client, server.fixed_ip, 5201)  # iperf3's port: not the selected tool's
    assert not _reaches(client, server.floating_ip, 5201)


def test_a_source_outside_the_flows_is_refused_but_ssh_works(run):
    _, vms, server, _ = run
    fip = vms["server"].floating_ip
    assert server.run("true", timeout=10).ok  # SSH from this machine (ssh_from)
    assert not _reaches_from_here(fip, 5001)  # this machine is no flow's source in this run
    ping = subprocess.run(["ping", "-c", "1", "-W", "1", fip], capture_output=True)
    assert ping.returncode != 0


@pytest.fixture
def outsider():
    """A namespace on the cloud's external network with an address no flow comes from (the
    floating IP pool ends at .250): a stranger on the same network as the floating IPs."""
    ns, leg = f"vsg-{new_run_id()}", f"vsg-{new_run_id()}"
    address = str(ipaddress.ip_network(EXTERNAL_CIDR)[253])
    steps = [["ip", "netns", "add", ns],
             ["ip", "link", "add", leg, "type", "veth", "peer", "name", "eth0", "netns", ns],
             ["ip", "link", "set", leg, "master", f"{PREFIX}-ex", "up"],
             ["ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0"],
             ["ip", "-n", ns, "link", "set", "eth0", "up"]]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", leg], capture_output=True)


def test_a_stranger_reaches_neither_ssh_nor_the_tools_port(run, outsider):
    _, vms, _, _ = run
    fip = vms["server"].floating_ip
    here = subprocess.run(["ip", "netns", "exec", outsider, "ping", "-c", "1", "-W", "2", str(
        ipaddress.ip_network(EXTERNAL_CIDR)[1])], capture_output=True)
    assert here.returncode == 0  # the stranger is on the network: only the group stops it
    for port in (22, 5001):
        res = subprocess.run(["ip", "netns", "exec", outsider, sys.executable, "-c", CONNECT, fip, str(port)],
                             capture_output=True, text=True, timeout=30)
        assert res.stdout.strip() != "open", port


def test_ports_follow_the_selected_tool():
    from pytest_vmtp.config import build

    def ports(**overrides):
        return tool_ports(build(overrides))

    assert ports() == {"tcp_ports": ((5001, 5002),), "udp_ports": ((5001, 5001),)}
    assert ports(tool="iperf3") == {"tcp_ports": ((5001, 5001),), "udp_ports": ((5001, 5001),)}
    assert ports(tool="iperf", iperf_port=6100) == {"tcp_ports": ((6100, 6100),), "udp_ports": ((6100, 6100),)}
    assert ports(tool="iperf3", protocols="TUIM") == {"tcp_ports": ((5001, 5002),), "udp_ports": ((5001, 5001),)}
    assert ports(tool="iperf3", protocols="TUIM", iperf_port=5201) == {
        "tcp_ports": ((5001, 5002), (5201, 5201)), "udp_ports": ((5001, 5001), (5201, 5201))}
    assert ports(protocols="TI") == {"tcp_ports": ((5001, 5002),), "udp_ports": ()}
    assert ports(protocols="I") == {"tcp_ports": (), "udp_ports": ()}
    # multicast_tool auto may measure with iperf 2 (nuttcp 6.x cannot send to the group): its
    # UDP port too, no TCP one (it has no control connection)
    assert ports(protocols="M", iperf_port=5201) == {"tcp_ports": ((5001, 5002),),
                                                     "udp_ports": ((5001, 5001), (5201, 5201))}
    assert ports(protocols="M", iperf_port=5201, multicast_tool="iperf") == {
        "tcp_ports": (), "udp_ports": ((5201, 5201),)}
    assert ports(protocols="M", iperf_port=5201, multicast_tool="nuttcp") == {
        "tcp_ports": ((5001, 5002),), "udp_ports": ((5001, 5001),)}


def test_sources_follow_the_external_host_and_ssh_from(monkeypatch):
    from pytest_vmtp.config import build

    monkeypatch.delenv("OS_CLOUD", raising=False)
    assert security_sources(build({})) == {"flow_sources": ("this-machine",), "ssh_sources": ("this-machine",)}
    real = build({"cloud": "prod", "external_host": "root@192.0.2.9", "flow_sources": ["198.51.100.0/28"]})
    assert security_sources(real) == {"flow_sources": ("198.51.100.0/28", "192.0.2.9"), "ssh_sources": ("0.0.0.0/0",)}
    assert security_sources(build({"cloud": "prod"}))["flow_sources"] == ()
    assert security_sources(build({"cloud": "prod", "ssh_from": ["192.0.2.7/32"]}))["ssh_sources"] == ("192.0.2.7/32",)
