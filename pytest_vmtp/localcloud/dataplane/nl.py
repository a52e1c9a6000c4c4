"""Thin helpers over pyroute2: namespaces, links, addresses, sysctls, commands in a namespace."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import threading
from pathlib import Path

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from pytest_vmtp.measure.netns import entered_netns

NETNS_DIR = Path("/run/netns")


class DataplaneError(RuntimeError):
    """A kernel object could not be made; the message names it."""


class Ns:
    """A netlink handle on one namespace (None: the root one).

    pyroute2's IPRoute is not safe to share between threads, so every use goes through
    `lock`; callers hold it across multi-step changes of that namespace.
    """

    def __init__(self, name: str | None) -> None:
        self.name = name
        self.ipr = IPRoute(netns=name) if name else IPRoute()
        self.lock = threading.RLock()

    def index(self, ifname: str) -> int | None:
        found = self.ipr.link_lookup(ifname=ifname)
        return found[0] if found else None

    def must_index(self, ifname: str) -> int:
        idx = self.index(ifname)
        if idx is None:
            raise DataplaneError(f"no interface {ifname} in {self.name or 'root namespace'}")
        return idx

    def up(self, ifname: str, **kwargs: object) -> int:
        idx = self.must_index(ifname)
        self.ipr.link("set", index=idx, state="up", **kwargs)
        return idx

    def add_addr(self, ifname: str, ip: str, prefixlen: int) -> None:
        try:
            self.ipr.addr("add", index=self.must_index(ifname), address=ip, prefixlen=prefixlen)
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise

    def del_addr(self, ifname: str, ip: str, prefixlen: int) -> None:
        idx = self.index(ifname)
        if idx is None:
            return
        try:
            self.ipr.addr("del", index=idx, address=ip, prefixlen=prefixlen)
        except NetlinkError as exc:
            if exc.code not in (errno.EADDRNOTAVAIL, errno.ENODEV):
                raise

    def del_link(self, ifname: str) -> None:
        idx = self.index(ifname)
        if idx is not None:
            try:
                self.ipr.link("del", index=idx)
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:
                    raise

    def close(self) -> None:
        self.ipr.close()


def ns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def create_ns(name: str) -> None:
    """Make a named namespace (as `ip netns add`) with lo up; no-op if it exists."""
    if not ns_exists(name):
        netns.create(name)
    with IPRoute(netns=name) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def list_ns(prefix: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(prefix))
    except FileNotFoundError:
        return []


def ns_pids(name: str) -> list[int]:
    """Processes living in the namespace. `ip netns pids` compares /proc/*/ns/net for us."""
    res = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    return [int(p) for p in res.stdout.split() if p.isdigit()]


def kill_pids(pids: list[int]) -> None:
    """SIGKILL each process group (sshd sessions share the daemon's group) and process."""
    for pid in pids:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, OSError):
                pass
    for pid in pids:  # reap the ones that are our children, so they leave no zombies
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def remove_ns(name: str) -> None:
    """Kill what runs inside, then unmount and unlink the namespace."""
    if not ns_exists(name):
        return
    kill_pids(ns_pids(name))
    try:
        netns.remove(name)
    except FileNotFoundError:
        pass


def sysctl(ns: str | None, key: str, value: str) -> None:
    """Write a net sysctl inside ns: /proc/sys/net follows the writing thread's namespace."""
    path = "/proc/sys/" + key.replace(".", "/")
    with entered_netns(ns):
        with open(path, "w") as fh:
            fh.write(value)


def run_in(ns: str | None, argv: list[str], stdin: str | None = None) -> str:
    """Run a command in ns (iptables and friends: pyroute2 has no API for them)."""
    cmd = (["ip", "netns", "exec", ns] if ns else []) + argv
    res = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if res.returncode != 0:
        raise DataplaneError(f"{' '.join(argv)} in {ns or 'root namespace'}: "
                             f"{res.stderr.strip()[-400:]}")
    return res.stdout
