"""Emulated VMs: a namespace per server, a veth per port on the host's network bridge, sshd."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pytest_vmtp.procgroup import stop_group
from pytest_vmtp.sshd import SshdHandle, start_sshd

from . import security
from .hosts import Host
from .model import PortSpec, SecurityRule, ServerSpec
from .names import Names
from .networks import Network, plug_veth
from .nl import DataplaneError, Ns, Session, create_ns, remove_ns
from .record import Record


@dataclass
class Server:
    spec: ServerSpec
    netns: str
    host: Host
    directory: Path
    filtered: list[str] = field(default_factory=list)  # port ids with a filter installed
    external: set[str] = field(default_factory=set)  # port ids plugged into <prefix>-ex
    sshd: SshdHandle | None = None


def _vm_ifname(index: int) -> str:
    return f"eth{index}"


class Servers:
    """Boots and deletes servers; safe to call from several threads at once."""

    def __init__(self, names: Names, record: Record, root: Ns, workdir: Path,
                 host_key: Path) -> None:
        self.names, self.record, self.root = names, record, root
        self.workdir, self.host_key = workdir, host_key
        self.servers: dict[str, Server] = {}

    def boot(self, spec: ServerSpec, host: Host, networks: dict[str, Network]) -> Server:
        booted = self.servers.get(spec.server_id)
        if booted is not None and (booted.sshd is not None or not spec.start_sshd):
            return booted  # a retry of a boot that completed
        netns = self.names.server_ns(spec.server_id)
        server = Server(spec, netns, host, self.workdir / netns)
        self.servers[spec.server_id] = server
        self.record.add("namespaces", netns)
        create_ns(netns)
        with Ns(netns).session() as vm:
            for index, port in enumerate(spec.ports):
                self._plug(server, vm, index, port, networks[port.network_id])
        if spec.port_security:
            self._filter(server, spec.security_rules)
        if spec.start_sshd:
            server.directory.mkdir(parents=True, exist_ok=True)
            server.sshd = start_sshd(server.directory, spec.authorized_keys, netns=netns,
                                     host_key_from=self.host_key)
            self.record.add("pids", server.sshd.pid)
        return server

    def _plug(self, server: Server, vm: Session, index: int, port: PortSpec, net: Network) -> None:
        ifname = _vm_ifname(index)
        peer = {"ifname": ifname, "net_ns_fd": server.netns, "address": port.mac}
        if net.external:
            server.external.add(port.port_id)
            leg = self.names.external_tap(port.port_id)
            self.record.add("root_links", leg)
            with self.root.session() as root:
                if root.index(leg) is None:
                    root.ipr.link("add", ifname=leg, kind="veth", mtu=port.mtu,
                                  peer={**peer, "mtu": port.mtu})
                root.up(leg, master=root.must_index(self.names.ex_bridge))
        else:
            plug_veth(server.host, net, Names.tap(port.port_id), peer, port.mtu)
        idx = vm.up(ifname)
        vm.add_addr(ifname, port.ip, port.prefixlen)
        if port.gateway and index == 0:
            vm.ipr.route("replace", dst="0.0.0.0/0", gateway=port.gateway, oif=idx)

    def _filter(self, server: Server, rules: tuple[SecurityRule, ...]) -> None:
        host = server.host
        with host.ns.lock:
            for port in server.spec.ports:
                if port.port_id not in server.external:
                    new = port.port_id not in server.filtered
                    security.apply(host.netns, Names.tap(port.port_id), port.port_id, rules,
                                   new, source=(port.ip, port.mac))
                    if new:
                        server.filtered.append(port.port_id)

    def update_security(self, server_id: str, rules: tuple[SecurityRule, ...]) -> None:
        server = self.servers.get(server_id)
        if server is None:
            raise DataplaneError(f"server {server_id} is not in the data path")
        if server.spec.port_security:
            self._filter(server, rules)

    def delete(self, server_id: str) -> None:
        server = self.servers.pop(server_id, None)
        if server is None:
            netns = self.names.server_ns(server_id)  # not ours in memory: still remove the ns
            remove_ns(netns)
            self.record.discard("namespaces", netns)
            return
        if server.sshd is not None:
            stop_group(server.sshd.pid, 1.0)
            self.record.discard("pids", server.sshd.pid)
        host = server.host
        with host.ns.session() as ns:
            for port_id in server.filtered:
                try:
                    security.remove(host.netns, Names.tap(port_id), port_id)
                except Exception:  # noqa: BLE001
                    pass  # chains half gone already: nothing else refers to them
            for port in server.spec.ports:
                ns.del_link(Names.tap(port.port_id))
        for port_id in server.external:
            leg = self.names.external_tap(port_id)
            with self.root.session() as root:
                root.del_link(leg)
            self.record.discard("root_links", leg)
        remove_ns(server.netns)
        self.record.discard("namespaces", server.netns)
        shutil.rmtree(server.directory, ignore_errors=True)
