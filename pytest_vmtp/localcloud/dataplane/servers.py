"""Emulated VMs: a namespace per server, a veth per port on the host's network bridge, sshd.

A port's IPv4 address is set on the VM (as a guest image's static configuration would);
its IPv6 addresses the guest learns as a real one does (ipv6.py): from router
advertisements (SLAAC), and from a DHCPv6 client when the advertisement's M flag asks for
one (or O: options only). The boot waits (boundedly) until every IPv6 address Neutron gave
the port is there, so that a server is ACTIVE with the addresses its ports show.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from pytest_vmtp.procgroup import stop_group
from pytest_vmtp.sshd import SshdHandle, start_sshd

from . import daemons, ipv6, security
from .daemons import Daemon
from .hosts import Host
from .model import PortSpec, SecurityRule, ServerSpec
from .names import Names
from .networks import Network, plug_veth
from .nl import DataplaneError, Ns, Session, create_ns, remove_ns, sysctl
from .record import Record

RA_TIMEOUT_S = 5.0  # the kernel solicits at once; radvd answers within half a second
ADDRESS_TIMEOUT_S = 15.0  # dhclient waits up to a second before soliciting, then 2 round trips


@dataclass
class Server:
    spec: ServerSpec
    netns: str
    host: Host
    directory: Path
    filtered: list[str] = field(default_factory=list)  # port ids with a filter installed
    external: set[str] = field(default_factory=set)  # port ids plugged into <prefix>-ex
    sshd: SshdHandle | None = None
    daemons: list[Daemon] = field(default_factory=list)  # its DHCPv6 clients


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
        for key, value in ipv6.GUEST_SYSCTLS:  # before its ports exist: they inherit them
            sysctl(netns, f"net.ipv6.conf.default.{key}", value)
        sysctl(netns, "net.ipv6.conf.all.accept_dad", "0")
        with Ns(netns).session() as vm:
            for index, port in enumerate(spec.ports):
                self._plug(server, vm, index, port, networks[port.network_id])
        if spec.port_security:
            self._filter(server, spec.security_rules)
        self._configure_ipv6(server)
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
        for address in port.ipv6:  # a subnet with no mode: nothing tells the guest, set it
            if address.address_mode is None:
                vm.add_addr(ifname, address.ip, address.prefixlen)
        idx = vm.up(ifname)
        if port.ip:
            vm.add_addr(ifname, port.ip, port.prefixlen)
        if port.gateway and index == 0:
            vm.ipr.route("replace", dst="0.0.0.0/0", gateway=port.gateway, oif=idx)

    def _configure_ipv6(self, server: Server) -> None:
        """The guest's side: wait for a router advertisement on each port with an IPv6
        subnet of a mode, start dhclient -6 when it says M (-S for O only), then wait until
        every address Neutron gave the port is on it and usable. A guest that gets none
        boots all the same, as on a real cloud (a subnet on no router yet): the server log
        says why."""
        for index, port in enumerate(server.spec.ports):
            expected = {a.ip for a in port.ipv6 if a.address_mode is not None}
            if not expected:
                continue
            ifname = _vm_ifname(index)
            modes = ", ".join(sorted({a.address_mode or "" for a in port.ipv6}))
            if not ipv6.wait_for(partial(ipv6.ra_flags, server.netns, ifname), RA_TIMEOUT_S):
                logging.warning("%s of server %s got no router advertisement within %g s (%s): "
                                "it has no IPv6 address (is the subnet on a router, with "
                                "ipv6_ra_mode set?)", ifname, server.spec.server_id,
                                RA_TIMEOUT_S, modes)
                continue
            flags = ipv6.ra_flags(server.netns, ifname)
            if flags & (ipv6.IF_RA_MANAGED | ipv6.IF_RA_OTHERCONF):
                server.directory.mkdir(parents=True, exist_ok=True)
                ipv6.dhclient_script(server.directory)
                stateless = not flags & ipv6.IF_RA_MANAGED
                server.daemons.append(daemons.start(
                    f"dhclient6-{ifname}", server.netns,
                    ipv6.dhclient_argv(ifname, server.directory, stateless),
                    server.directory, self.record))
            arrived = partial(ipv6.ready_addresses, server.netns, ifname)
            if not ipv6.wait_for(lambda got=arrived, want=expected: want <= got(),  # type: ignore[misc]
                                 ADDRESS_TIMEOUT_S):
                logging.warning("%s of server %s did not get %s (%s) within %g s of its router "
                                "advertisement (flags 0x%x)", ifname, server.spec.server_id,
                                ", ".join(sorted(expected - arrived())), modes,
                                ADDRESS_TIMEOUT_S, flags)

    def _filter(self, server: Server, rules: tuple[SecurityRule, ...]) -> None:
        host = server.host
        with host.ns.lock:
            for port in server.spec.ports:
                if port.port_id not in server.external:
                    new = port.port_id not in server.filtered
                    security.apply(host.netns, Names.tap(port.port_id), port.port_id, rules,
                                   new, source=(port.ip, port.mac),
                                   ipv6=tuple(a.ip for a in port.ipv6))
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
        for daemon in server.daemons:
            daemons.stop(daemon, self.record)
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
