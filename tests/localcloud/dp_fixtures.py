"""Fixtures and helpers shared by the dataplane tests (import them; conftest.py is not ours).

The topology is VMTP's: router with a gateway on "public", two networks, three servers
(two on compute1, one on compute2), a floating IP each. Prefix "vlt" keeps it apart from a
dev cloud's "vlc"; the fixed ranges mean only one of them can run at a time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from filelock import FileLock

from pytest_vmtp.localcloud.dataplane import (
    DataplaneError,
    LinuxDataplane,
    PortSpec,
    SecurityRule,
    ServerSpec,
)
from pytest_vmtp.localcloud.dataplane.addressing import Addressing
from pytest_vmtp.localcloud.dataplane.cleanup import leftovers
from tests.localcloud.lc_support import processes_mentioning

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

PREFIX = "vlt"
NET1, NET2, EXT = "11111111-aaaa-4aaa-8aaa-000000000001", \
    "22222222-bbbb-4bbb-8bbb-000000000002", "eeeeeeee-eeee-4eee-8eee-00000000000e"
ROUTER = "33333333-cccc-4ccc-8ccc-000000000003"
GATEWAY_IP = "203.0.113.10"
# VMTP's pns-security group.
PNS_RULES = (
    SecurityRule("ingress", protocol="icmp"),
    SecurityRule("ingress", protocol="tcp", port_range_min=22, port_range_max=22),
    SecurityRule("ingress", protocol="tcp", port_range_min=5001, port_range_max=5002),
    SecurityRule("ingress", protocol="udp", port_range_min=5001, port_range_max=5002),
)


RANGES_LOCK = Path(tempfile.gettempdir()) / "pytest-vmtp-dataplane-ranges.lock"


@contextmanager
def owning_ranges(timeout: float = 600) -> Iterator[None]:
    """Hold the machine-wide lock on the default ranges while a test cloud lives, and wait
    for a dev cloud holding them to go: only one cloud can own them, and several people run
    clouds and these tests on one machine at once."""
    deadline = time.monotonic() + timeout
    with FileLock(str(RANGES_LOCK), timeout=timeout):
        while True:
            try:
                Addressing().check_free()
                break
            except DataplaneError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        yield


@dataclass
class Vm:
    server_id: str
    host: str
    network_id: str
    ip: str
    fip: str
    netns: str = ""


@dataclass
class Topology:
    dp: LinuxDataplane
    key_path: Path
    public_key: str
    vms: dict[str, Vm] = field(default_factory=dict)

    def ssh(self, ip: str, command: str, timeout: float = 15) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ssh", "-i", str(self.key_path), "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
             "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", f"root@{ip}", command],
            capture_output=True, text=True, timeout=timeout)


def make_key(directory: Path) -> tuple[Path, str]:
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dp-test", "-f",
                    str(key)], check=True, capture_output=True)
    return key, (directory / "id_ed25519.pub").read_text().strip()


def in_ns(netns: str, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True,
                          text=True, timeout=timeout)


def tcp_connects(netns: str, ip: str, port: int, timeout: float = 1.0) -> bool:
    """Can a TCP connection from netns reach ip:port (a DROP shows up as a timeout)?"""
    code = (f"import socket; socket.create_connection(('{ip}', {port}), timeout={timeout})"
            ".close()")
    return in_ns(netns, "python3", "-c", code).returncode == 0


class NuttcpServer:
    """`nuttcp -S --nofork` inside a VM namespace (control port `ctl`, data ctl-1)."""

    def __init__(self, netns: str, ctl: int = 5002) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, "nuttcp", "-S", "--nofork", f"-P{ctl}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.netns, self.ctl = netns, ctl
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # wait until it listens
            out = in_ns(netns, "ss", "-Hltn", f"sport = :{ctl}").stdout
            if out.strip():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("nuttcp server did not listen")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
        self.proc.wait()


def nuttcp(netns: str, ip: str, ctl: int = 5002, seconds: int = 1) -> dict[str, float]:
    """Run a client; return the -fparse fields (rate_Mbps ...)."""
    res = in_ns(netns, "nuttcp", f"-T{seconds}", f"-p{ctl - 1}", f"-P{ctl}", "-fparse", ip,
                timeout=seconds + 15)
    assert res.returncode == 0, f"nuttcp {netns} -> {ip}: {res.stdout} {res.stderr}"
    fields = dict(part.split("=", 1) for part in res.stdout.split() if "=" in part)
    return {k: float(v) for k, v in fields.items() if _is_number(v)}


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def assert_nothing_left(prefix: str, workdir: Path | None = None) -> None:
    left = leftovers(prefix)
    assert left == {"namespaces": [], "root_links": [], "root_rules": []}, left
    if workdir is not None:
        assert not processes_mentioning(str(workdir)), processes_mentioning(str(workdir))


def build_vmtp_topology(dp: LinuxDataplane, public_key: str) -> dict[str, Vm]:
    """Networks, router (gateway + 2 interfaces), 3 servers and their floating IPs."""
    dp.ensure_network(EXT, 0, 1500, external=True)
    dp.ensure_network(NET1, 101, 1450)
    dp.ensure_network(NET2, 102, 1450)
    dp.create_router(ROUTER)
    dp.set_router_gateway(ROUTER, GATEWAY_IP, 24, dp.external_gateway()[0])
    for n, net in ((1, NET1), (2, NET2)):
        dp.add_router_interface(ROUTER, PortSpec(f"r{n}000000-0000-4000-8000-00000000000{n}",
                                                 net, f"fa:16:3e:00:0{n}:01", f"192.168.{n}.1",
                                                 24, None))
    vms = {
        "server": Vm("aaaa0001-0000-4000-8000-000000000001", "compute1", NET1, "192.168.1.11",
                     "203.0.113.21"),
        "client_net2": Vm("aaaa0002-0000-4000-8000-000000000002", "compute1", NET2,
                          "192.168.2.12", "203.0.113.22"),
        "client_net1_remote": Vm("aaaa0003-0000-4000-8000-000000000003", "compute2", NET1,
                                 "192.168.1.13", "203.0.113.23"),
    }
    for i, vm in enumerate(vms.values()):
        gateway = vm.ip.rsplit(".", 1)[0] + ".1"
        port = PortSpec(f"p{i}000000-0000-4000-8000-00000000000{i}", vm.network_id,
                        f"fa:16:3e:00:10:{i:02x}", vm.ip, 24, gateway)
        dp.boot_server(ServerSpec(vm.server_id, vm.host, (port,), public_key,
                                  security_rules=PNS_RULES))
        dp.add_floating_ip(ROUTER, vm.fip, vm.ip)
        vm.netns = dp.server_netns(vm.server_id)
    return vms


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    tmp = tmp_path_factory.mktemp("dp")
    key, public = make_key(tmp)
    with owning_ranges():
        LinuxDataplane.clean(PREFIX, tmp / "state")  # a previous crashed run's leftovers
        dp = LinuxDataplane(PREFIX, 2, tmp / "state")
        try:
            dp.start()
            topo = Topology(dp, key, public)
            topo.vms = build_vmtp_topology(dp, public)
            yield topo
        finally:
            dp.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        assert_nothing_left(PREFIX)
