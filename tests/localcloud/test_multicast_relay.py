"""The routers' multicast relay (dataplane/mcast_relay.py) on real namespaces: a group's
datagrams cross a relaying router to the network whose VM joined the group, TTL decremented,
learned from the VM's IGMP report and forgotten at its leave; never with TTL 1 nor onto the
external network; a router of a cloud started without the relay (Neutron's L3 agent) forwards
none. The relay is gone with its router: after delete, stop, and a kill -9 followed by clean.

Data paths of this module's own: prefix vmr, 198.18.220.0/24 and 198.18.221.0/24.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_vmtp.localcloud.dataplane import LinuxDataplane, PortSpec, SecurityRule, ServerSpec, mcast_relay
from pytest_vmtp.localcloud.dataplane.cleanup import leftovers
from pytest_vmtp.localcloud.dataplane.names import Names
from pytest_vmtp.localcloud.dataplane.nl import list_ns
from tests.localcloud.dp_fixtures import in_ns, pytestmark  # noqa: F401

PREFIX = "vmr"
RANGES = {"mgmt_cidr": "198.18.220.0/24", "external_cidr": "198.18.221.0/24"}
GROUP, PORT = "231.1.1.1", 5001
EXT = "eeeeeeee-eeee-4eee-8eee-0000000000e1"
NETS = {1: "11111111-aaaa-4aaa-8aaa-0000000000a1", 2: "22222222-bbbb-4bbb-8bbb-0000000000b2"}
ROUTER = "33333333-cccc-4ccc-8ccc-0000000000c3"
RULES = (SecurityRule("ingress", protocol="udp", port_range_min=PORT, port_range_max=PORT),)
REPO = Path(__file__).resolve().parents[2]

# Joins group argv[3] (port argv[4]) on the interface of address argv[1] (IP_ADD_MEMBERSHIP:
# the kernel sends the IGMP report), says so, then prints what arrived for argv[2] s:
# [payload, TTL received].
RECEIVER = r"""
import json, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[3], int(sys.argv[4])))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton(sys.argv[3]) + socket.inet_aton(sys.argv[1]))
s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL
s.settimeout(0.1)
print("joined", flush=True)
got, end = [], time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        data, anc, _, _ = s.recvmsg(2048, 64)
    except socket.timeout:
        continue
    ttl = next((int.from_bytes(d[:4], sys.byteorder) for lvl, typ, d in anc if typ == 2), None)
    got.append([data.decode(), ttl])
print(json.dumps(got), flush=True)
"""

# Sends 10 datagrams to group argv[2] (port argv[3]) with each TTL of argv[4:] from the
# interface of address argv[1].
SENDER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
for ttl in sys.argv[4:]:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, int(ttl))
    for _ in range(10):
        s.sendto(("ttl=" + ttl).encode(), (sys.argv[2], int(sys.argv[3])))
        time.sleep(0.01)
"""

# A data path killed with SIGKILL while its router relays (the server's crash).
CHILD = """
import sys, time
from pathlib import Path
from pytest_vmtp.localcloud.dataplane import LinuxDataplane
from tests.localcloud.test_multicast_relay import RANGES, ROUTER, build
dp = LinuxDataplane("vmr", 2, Path(sys.argv[1]), **RANGES)
dp.start()
build(dp, vms=False)
print("READY", flush=True)
time.sleep(600)
"""


def vm_ip(net: int, host: int) -> str:
    return f"10.{net}.0.{10 + host}"


def build(dp: LinuxDataplane, vms: bool = True) -> dict[str, str]:
    """Two networks behind a router with a gateway on the external network; VMs (without
    sshd: the test runs in their namespaces) on compute1 (net 1, the sender; net 2) and
    compute2 (net 1, the sender's neighbour). Returns name -> namespace."""
    dp.ensure_network(EXT, 0, 1500, external=True)
    dp.create_router(ROUTER)
    dp.set_router_gateway(ROUTER, "198.18.221.10", 24, dp.external_gateway()[0])
    for n, net in NETS.items():
        dp.ensure_network(net, 200 + n, 1450)
        dp.add_router_interface(ROUTER, PortSpec(f"r{n}000000-0000-4000-8000-00000000000{n}", net,
                                                 f"fa:16:3e:00:2{n}:01", f"10.{n}.0.1", 24, None))
    spaces: dict[str, str] = {}
    for i, (name, net, host) in enumerate((("sender", 1, 1), ("net2", 2, 1), ("neighbour", 1, 2))):
        if not vms:
            break
        server_id = f"bbbb000{i}-0000-4000-8000-00000000000{i}"
        port = PortSpec(f"q{i}000000-0000-4000-8000-00000000000{i}", NETS[net],
                        f"fa:16:3e:00:30:{i:02x}", vm_ip(net, host), 24, f"10.{net}.0.1")
        dp.boot_server(ServerSpec(server_id, f"compute{host}", (port,), "", start_sshd=False,
                                  security_rules=RULES))
        spaces[name] = dp.server_netns(server_id)
    return spaces


class Receiver:
    def __init__(self, netns: str | None, address: str, seconds: float = 2.5) -> None:
        argv = ["ip", "netns", "exec", netns] if netns else []
        self.proc = subprocess.Popen([*argv, sys.executable, "-c", RECEIVER, address, str(seconds), GROUP, str(PORT)],
                                     stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "joined"

    def got(self) -> list[list]:
        out, _ = self.proc.communicate(timeout=20)
        return json.loads(out)


def send(netns: str, address: str, *ttls: int) -> None:
    res = in_ns(netns, sys.executable, "-c", SENDER, address, GROUP, str(PORT), *map(str, ttls))
    assert res.returncode == 0, res.stderr


def relay_tables() -> list[str]:
    """Namespaces (and the root one) holding a multicast relay table."""
    found = []
    for netns in [None, *list_ns(PREFIX + "-")]:
        argv = ["ip", "netns", "exec", netns] if netns else []
        out = subprocess.run([*argv, "nft", "list", "tables"], capture_output=True, text=True).stdout
        if mcast_relay.TABLE in out:
            found.append(netns or "root")
    return found


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def assert_gone() -> None:
    assert relay_tables() == []
    assert leftovers(PREFIX) == {"namespaces": [], "root_links": [], "root_rules": []}


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    LinuxDataplane.clean(PREFIX, tmp_path / "state")
    yield tmp_path / "state"
    LinuxDataplane.clean(PREFIX, tmp_path / "state")
    assert_gone()


def test_a_relaying_router_forwards_to_listeners_only(state: Path) -> None:
    dp = LinuxDataplane(PREFIX, 2, state, **RANGES)
    try:
        dp.start()
        vms = build(dp)
        router_ns = Names(PREFIX).router_ns(ROUTER)
        qr2 = Names.router_port("r2000000-0000-4000-8000-000000000002")
        outside = Receiver(None, dp.external_gateway()[0])  # this machine, on the external network
        net2 = Receiver(vms["net2"], vm_ip(2, 1))
        # The router learned the group from the VM's IGMP report on net 2 alone.
        assert wait_for(lambda: mcast_relay.members(router_ns, qr2) == [GROUP]), \
            mcast_relay.members(router_ns, qr2)
        assert mcast_relay.members(router_ns, Names.router_port("r1000000-0000-4000-8000-000000000001")) == []
        send(vms["sender"], vm_ip(1, 1), 32, 1)
        got = net2.got()
        assert got == [["ttl=32", 31]] * 10, got  # routed: TTL decremented; TTL 1 stays home
        assert outside.got() == []  # nor onto the external network
        # The VM leaves the group (its receiver ended): the router forgets it.
        assert wait_for(lambda: mcast_relay.members(router_ns, qr2) == [])

        assert relay_tables() == [router_ns]
        dp.delete_router(ROUTER)
        assert relay_tables() == []
        build(dp, vms=False)  # the router again; stop() takes it with everything else
        assert relay_tables() == [router_ns]
    finally:
        dp.stop()
    assert_gone()


def test_without_the_relay_a_router_forwards_no_multicast(state: Path) -> None:
    dp = LinuxDataplane(PREFIX, 2, state, multicast_relay=False, **RANGES)
    try:
        dp.start()
        vms = build(dp)
        net2 = Receiver(vms["net2"], vm_ip(2, 1))
        neighbour = Receiver(vms["neighbour"], vm_ip(1, 2))
        time.sleep(0.3)  # what the relaying router needs to learn the group, and more
        send(vms["sender"], vm_ip(1, 1), 32)
        assert neighbour.got() == [["ttl=32", 32]] * 10  # sent, and the same network has it
        assert net2.got() == []
        assert relay_tables() == []
    finally:
        dp.stop()


def test_kill_9_then_clean_leaves_no_relay(state: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(state)], stdout=subprocess.PIPE,
                             text=True, env=env, cwd=REPO, start_new_session=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "READY"
        assert relay_tables() == [Names(PREFIX).router_ns(ROUTER)]
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert relay_tables() != []  # the crash left it behind ...
    LinuxDataplane.clean(PREFIX, state)
    assert_gone()  # ... clean takes it
