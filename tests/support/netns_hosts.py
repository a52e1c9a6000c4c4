"""A throw-away lab of network namespaces: a "controller" plus N hosts on one bridge.

Each host runs a private sshd (pytest_vmtp.sshd) accepting one fresh ed25519 key, so tests
can treat the namespaces as native hosts (`--vmtp-host root@198.18.0.11,key=...`) and run
pytest itself inside the controller (`ip netns exec <controller> pytest ...`). The hosts share
one host key, listed for every host in the lab's own known_hosts file (`known_hosts=...` in
their specs), so host keys are checked as for any native host.
Every name starts with `vtst-` plus a random tag, so parallel labs do not collide; the
addresses (198.18.0.0/15, the benchmarking range) are only on the lab's own bridge, which
has no address in the root namespace. Everything is removed on exit, also after errors.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pytest_vmtp.sshd import SshdHandle, start_sshd

PREFIX = "vtst-"
SUBNET_PREFIX = "198.18.0."
PREFIX_LEN = 24
CONTROLLER_HOST_OCTET = 10  # controller .10, hosts .11, .12, ...


@dataclass
class NetnsHost:
    """One namespace of the lab and how to reach its sshd."""

    netns: str
    ip: str
    user: str = "root"
    key_path: str = ""
    port: int = 22
    sshd: SshdHandle | None = field(default=None, repr=False)
    known_hosts: str = ""  # the lab's known_hosts file, holding this host's key

    @property
    def spec(self) -> str:
        """The host as given to --vmtp-host / parse_host_spec."""
        port = f":{self.port}" if self.port != 22 else ""
        known = f",known_hosts={self.known_hosts}" if self.known_hosts else ""
        return f"{self.user}@{self.ip}{port},key={self.key_path}{known}"


@dataclass
class NetnsLab:
    tag: str
    bridge: str
    controller: NetnsHost
    hosts: list[NetnsHost]
    key_path: str
    public_key: str
    workdir: Path

    @property
    def namespaces(self) -> list[str]:
        return [self.controller.netns] + [h.netns for h in self.hosts]


def _ip(*args: str) -> None:
    res = subprocess.run(["ip", *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {res.stderr.strip()}")


def _make_key(directory: Path) -> tuple[str, str]:
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vtst", "-f", str(key)],
                   check=True, capture_output=True)
    return str(key), (directory / "id_ed25519.pub").read_text().strip()


def _kill_namespace_processes(netns: str) -> None:
    res = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
    for pid in res.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _add_namespace(lab_bridge: str, netns: str, veth: str, ip: str) -> None:
    _ip("netns", "add", netns)
    _ip("-n", netns, "link", "set", "lo", "up")
    _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns)
    _ip("link", "set", veth, "master", lab_bridge, "up")
    _ip("-n", netns, "addr", "add", f"{ip}/{PREFIX_LEN}", "dev", "eth0")
    _ip("-n", netns, "link", "set", "eth0", "up")
    # No default route, on purpose: multicast rows add their 224.0.0.0/4 route (as VMTP did).


def _remove_namespace(netns: str, veth: str) -> None:
    _kill_namespace_processes(netns)
    subprocess.run(["ip", "netns", "del", netns], capture_output=True)
    subprocess.run(["ip", "link", "del", veth], capture_output=True)  # gone with netns, usually


@contextmanager
def netns_hosts(count: int = 2, sshd: bool = True, tag: str | None = None, prefix: str = PREFIX,
                subnet_prefix: str = SUBNET_PREFIX, root_password_hash: str | None = None) -> Iterator[NetnsLab]:
    """Make the lab, yield it, and tear all of it down on exit.

    count: number of host namespaces (the controller is extra); sshd: start sshd on each host.
    prefix, subnet_prefix: names and addresses ("198.18.202.") of a test's own range.
    root_password_hash: the hosts' sshd also take root's password (see start_sshd).
    """
    tag = tag or uuid.uuid4().hex[:6]
    bridge = f"{prefix}{tag}-br"
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}{tag}-"))
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        key_path, public_key = _make_key(workdir)
        _ip("link", "add", bridge, "type", "bridge")
        cleanup.callback(subprocess.run, ["ip", "link", "del", bridge], capture_output=True)
        _ip("link", "set", bridge, "up")

        def add(name: str, index: int) -> NetnsHost:
            netns, veth = f"{prefix}{tag}-{name}", f"{prefix}{tag}-{index}"
            ip = f"{subnet_prefix}{CONTROLLER_HOST_OCTET + index}"
            cleanup.callback(_remove_namespace, netns, veth)
            _add_namespace(bridge, netns, veth, ip)
            return NetnsHost(netns=netns, ip=ip, key_path=key_path)

        controller = add("ctl", 0)
        hosts = [add(f"h{i}", i) for i in range(1, count + 1)]
        if sshd:
            host_key = workdir / "ssh_host_ed25519_key"
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)],
                           check=True, capture_output=True)
            known_hosts = workdir / "known_hosts"
            host_public = (workdir / "ssh_host_ed25519_key.pub").read_text().split()[:2]
            known_hosts.write_text("".join(f"{h.ip} {' '.join(host_public)}\n" for h in hosts))
            for host in hosts:
                host.sshd = start_sshd(workdir / host.netns, public_key, netns=host.netns,
                                       host_key_from=host_key, root_password_hash=root_password_hash)
                host.known_hosts = str(known_hosts)
                cleanup.callback(host.sshd.stop)
        yield NetnsLab(tag, bridge, controller, hosts, key_path, public_key, workdir)
