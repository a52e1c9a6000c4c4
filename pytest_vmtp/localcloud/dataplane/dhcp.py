"""Networks' DHCPv6 servers as Neutron's DHCP agent runs them: per network a qdhcp-
namespace on the network node, its port's leg on the network's bridge (ns-<port> inside,
tap<port> on the bridge) with the port's IPv6 addresses, and dnsmasq listening there.
A change of hosts is a SIGHUP (dnsmasq rereads its hosts file); a change of subnets, a
restart with the new ranges."""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from . import daemons, ipv6
from .daemons import Daemon
from .hosts import Host
from .model import DhcpSpec
from .names import Names
from .networks import Network, plug_veth
from .nl import Ns, create_ns, remove_ns, sysctl
from .record import Record


@dataclass
class DhcpServer:
    netns: str
    directory: Path
    spec: DhcpSpec
    argv: list[str]
    daemon: Daemon


def ns_ifname(port_id: str) -> str:
    return "ns-" + port_id[:11]


class DhcpServers:
    def __init__(self, names: Names, record: Record, workdir: Path) -> None:
        self.names, self.record, self.workdir = names, record, workdir
        self.servers: dict[str, DhcpServer] = {}
        self._lock = threading.Lock()

    def update(self, network_id: str, spec: DhcpSpec | None, net: Network | None,
               node: Host) -> None:
        with self._lock:
            current = self.servers.get(network_id)
            if spec is None or net is None:
                self._remove(network_id, node)
                return
            if current is not None and current.spec.port != spec.port:
                self._remove(network_id, node)
                current = None
            netns = self.names.dhcp_ns(network_id)
            directory = self.workdir / netns
            if current is None:
                self._plug(netns, spec, net, node)
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "host").write_text(ipv6.dnsmasq_hosts(spec))
            (directory / "opts").write_text(ipv6.dnsmasq_opts(spec))
            argv = ipv6.dnsmasq_argv(spec, ns_ifname(spec.port.port_id), directory)
            if current is not None and current.argv == argv and current.daemon.running():
                current.daemon.reload()
                current.spec = spec
                return
            if current is not None:
                daemons.stop(current.daemon, self.record)
            daemon = daemons.start("dnsmasq", netns, argv, directory, self.record)
            self.servers[network_id] = DhcpServer(netns, directory, spec, argv, daemon)

    def _plug(self, netns: str, spec: DhcpSpec, net: Network, node: Host) -> None:
        self.record.add("namespaces", netns)
        create_ns(netns)
        for key, value in ipv6.INFRA_SYSCTLS:
            sysctl(netns, f"net.ipv6.conf.default.{key}", value)
            sysctl(netns, f"net.ipv6.conf.all.{key}", value)
        port = spec.port
        ifname = ns_ifname(port.port_id)
        plug_veth(node, net, Names.tap(port.port_id),
                  {"ifname": ifname, "net_ns_fd": netns, "address": port.mac}, port.mtu)
        with Ns(netns).session() as ns:
            ns.up(ifname)
            for address in port.ipv6:
                ns.add_addr(ifname, address.ip, address.prefixlen)

    def _remove(self, network_id: str, node: Host) -> None:
        server = self.servers.pop(network_id, None)
        netns = self.names.dhcp_ns(network_id)
        if server is not None:
            daemons.stop(server.daemon, self.record)
            with node.ns.session() as ns:
                ns.del_link(Names.tap(server.spec.port.port_id))
        remove_ns(netns)
        self.record.discard("namespaces", netns)
        shutil.rmtree(self.workdir / netns, ignore_errors=True)

    def clear(self) -> None:
        """Forget every server (the data path's stop removes their namespaces)."""
        with self._lock:
            self.servers.clear()
