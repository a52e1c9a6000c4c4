"""A local cloud of its own for the fault tests (prefix vhf, 198.18.150-151.0/24), a small
VMTP-like topology on it, and the measurements the tests make between VM namespaces."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openstack
import pytest
import requests

from pytest_vmtp.localcloud import control
from pytest_vmtp.localcloud.control import CloudHandle
from pytest_vmtp.localcloud.dataplane.cleanup import leftovers
from pytest_vmtp.localcloud.dataplane.names import Names
from tests.localcloud.lc_support import connect, processes_mentioning

PREFIX = "vhf"
MGMT, EXT = "198.18.150.0/24", "198.18.151.0/24"


@dataclass
class FaultCloud:
    handle: CloudHandle
    conn: openstack.connection.Connection
    servers: dict[str, Any] = field(default_factory=dict)  # name -> openstacksdk server
    networks: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.handle.port}/admin/faults"

    def faults(self, doc: dict[str, Any]) -> requests.Response:
        return requests.post(self.url, json=doc, timeout=10,
                             headers={"X-Auth-Token": self.conn.session.get_token()})

    def set(self, doc: dict[str, Any]) -> None:
        resp = self.faults(doc)
        assert resp.status_code == 200, resp.text

    def netns(self, name: str) -> str:
        return Names(PREFIX).server_ns(self.servers[name].id)

    def ip(self, name: str) -> str:
        server = self.servers[name]
        return next(a["addr"] for items in server.addresses.values() for a in items
                    if a["OS-EXT-IPS:type"] == "fixed")

    def boot(self, name: str, network: str, host: str) -> Any:
        image = self.conn.image.find_image("vmtp-local", ignore_missing=False)
        server = self.conn.compute.create_server(
            name=name, image_id=image.id, flavor_id="10", availability_zone=f"nova:{host}",
            networks=[{"uuid": self.networks[network].id}])
        server = self.conn.compute.wait_for_server(server, interval=0.1, wait=60)
        self.servers[name] = server
        return server

    def delete(self, name: str) -> None:
        server = self.servers.pop(name)
        self.conn.compute.delete_server(server)
        self.conn.compute.wait_for_delete(server, interval=0.1, wait=60)


def in_ns(netns: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True,
                          text=True, timeout=timeout)


@dataclass
class Pings:
    sent: int
    received: int
    rtts: dict[int, float]  # icmp_seq -> ms

    @property
    def loss(self) -> float:
        return 1 - self.received / self.sent

    @property
    def avg(self) -> float:
        return sum(self.rtts.values()) / len(self.rtts)


def ping(netns: str, ip: str, count: int, interval: float = 0.01) -> Pings:
    """count pings from netns to ip, every interval seconds (-W 1: a late answer is lost)."""
    res = in_ns(netns, "ping", "-n", "-c", str(count), "-i", str(interval), "-W", "1", ip)
    rtts = {int(m.group(1)): float(m.group(2))
            for m in re.finditer(r"icmp_seq=(\d+) ttl=\d+ time=([\d.]+) ms", res.stdout)}
    match = re.search(r"(\d+) packets transmitted, (\d+) received", res.stdout)
    assert match, res.stdout + res.stderr
    return Pings(int(match.group(1)), int(match.group(2)), rtts)


def nuttcp_mbps(client_ns: str, server_ns: str, ip: str, seconds: int = 2) -> float:
    server = subprocess.Popen(["ip", "netns", "exec", server_ns, "nuttcp", "-S", "--nofork"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while not in_ns(server_ns, "ss", "-Hltn", "sport = :5000").stdout.strip():
            assert time.monotonic() < deadline, "nuttcp server did not listen"
            time.sleep(0.02)
        res = in_ns(client_ns, "nuttcp", f"-T{seconds}", "-fparse", ip, timeout=seconds + 20)
        match = re.search(r"rate_Mbps=([\d.]+)", res.stdout)
        assert match, res.stdout + res.stderr
        return float(match.group(1))
    finally:
        os.killpg(server.pid, 9)
        server.wait()


def fault_chains(netns: str) -> list[str]:
    """Our fault chains (vfo-/vfi-) in a namespace's filter and mangle tables."""
    out = []
    for table in ("filter", "mangle"):
        listing = in_ns(netns, "iptables", "-w", "-t", table, "-S").stdout
        out += [line for line in listing.splitlines() if re.match(r"-N vf[io]-", line)]
    return out


def qdiscs(netns: str) -> str:
    return in_ns(netns, "tc", "qdisc", "show").stdout


@pytest.fixture(scope="module")
def fault_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultCloud]:
    """The cloud with a router, networks f-net1 and f-net2, server f-server (net1,
    compute1), f-client (net1, compute2) and f-other (net2, compute1)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    state_dir: Path = tmp_path_factory.mktemp("faultcloud")
    control.clean(state_dir, PREFIX)
    handle = control.start(state_dir, prefix=PREFIX, mgmt_cidr=MGMT, external_cidr=EXT)
    conn = connect(handle)
    cloud = FaultCloud(handle, conn)
    try:
        ext = conn.network.find_network("public", ignore_missing=False)
        router = conn.network.create_router(name="f-router",
                                            external_gateway_info={"network_id": ext.id})
        for n in (1, 2):
            net = conn.network.create_network(name=f"f-net{n}")
            subnet = conn.network.create_subnet(network_id=net.id, cidr=f"10.150.{n}.0/24",
                                                ip_version=4)
            conn.network.add_interface_to_router(router, subnet_id=subnet.id)
            cloud.networks[f"f-net{n}"] = net
        group = conn.network.find_security_group("default", ignore_missing=False)
        for proto in ("icmp", "tcp"):
            try:
                conn.network.create_security_group_rule(
                    security_group_id=group.id, direction="ingress", protocol=proto,
                    remote_ip_prefix="0.0.0.0/0")
            except openstack.exceptions.ConflictException:
                pass
        for name, net, host in (("f-server", "f-net1", "compute1"),
                                ("f-client", "f-net1", "compute2"),
                                ("f-other", "f-net2", "compute1")):
            cloud.boot(name, net, host)
        yield cloud
    finally:
        conn.close()
        control.stop(handle)
        control.clean(state_dir, PREFIX)
    assert leftovers(PREFIX) == {"namespaces": [], "root_links": [], "root_rules": []}
    assert processes_mentioning(str(state_dir)) == []
