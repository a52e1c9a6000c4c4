"""Thin helpers over pyroute2: namespaces, links, addresses, sysctls, commands in a namespace."""

from __future__ import annotations

import errno
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from pytest_vmtp.measure.netns import entered_netns
from pytest_vmtp.procgroup import kill_groups

NETNS_DIR = Path("/run/netns")


class DataplaneError(RuntimeError):
    """A kernel object could not be made; the message names it."""


class Ns:
    """A namespace (None: the root one) whose changes go through short netlink sessions.

    Why sessions and not one long-lived IPRoute: pyroute2 keeps its transport per thread,
    opening a new one (by forking, for IPRoute(netns=...)) in every thread that touches the
    object, and the API server calls us from many short-lived threads. A session is opened in
    the calling thread after setns(2) into the namespace (sockets stay in the namespace they
    were made in), used under `lock`, and closed: ~0.7 ms, no fork, no leaked descriptors.
    """

    def __init__(self, name: str | None) -> None:
        self.name = name
        self.lock = threading.RLock()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Hold the namespace's lock and a fresh netlink handle in it."""
        with self.lock:
            with entered_netns(self.name):
                ipr = IPRoute()
            try:
                yield Session(self.name, ipr)
            finally:
                ipr.close()


@dataclass
class Session:
    """Netlink helpers bound to one namespace for the length of a `with ns.session()`."""

    name: str | None
    ipr: IPRoute

    def index(self, ifname: str) -> int | None:
        try:
            return self.ipr.link("get", ifname=ifname)[0]["index"]
        except NetlinkError as exc:
            if exc.code == errno.ENODEV:
                return None
            raise

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


def ns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def create_ns(name: str) -> None:
    """Make a named namespace with lo up; no-op if it exists.

    `ip netns add` rather than pyroute2's netns.create, which forks this (threaded) process."""
    if not ns_exists(name):
        run_in(None, ["ip", "netns", "add", name])
    with entered_netns(name):
        with IPRoute() as ipr:
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


def named_pids(name: str, process_name: str) -> list[int]:
    """The processes called process_name (their comm, as ps shows it) in namespace name."""
    found = []
    for pid in ns_pids(name):
        try:
            if psutil.Process(pid).name() == process_name:
                found.append(pid)
        except psutil.Error:
            continue  # gone meanwhile
    return found


def kill_named(name: str, process_name: str) -> int:
    """SIGKILL the processes called process_name in namespace name; how many were killed."""
    killed = 0
    for pid in named_pids(name, process_name):
        try:
            psutil.Process(pid).kill()
            killed += 1
        except psutil.Error:
            continue  # gone meanwhile
    return killed


def remove_ns(name: str) -> None:
    """Kill what runs inside, then unmount and unlink the namespace."""
    if not ns_exists(name):
        return
    kill_groups(ns_pids(name))
    try:
        netns.remove(name)  # umount + unlink, no fork
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
