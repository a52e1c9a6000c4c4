"""Routers as Neutron's legacy L3 agent builds them: a qrouter namespace with qr- legs on the
tenant networks (their bridge peers live in the network node), a qg- leg on the external
bridge, ip_forward on, and NAT in iptables' nat table.

NAT, as neutron.agent.l3 lays it out (one iptables-restore per change, whole table):
  mangle PREROUTING  -i qg -> mark 0x2 (came from outside)
  nat PREROUTING/OUTPUT  -d fip -> DNAT fixed
  nat POSTROUTING  internal->internal, not DNATed, not from outside: ACCEPT (no NAT)
                   -s fixed -> SNAT fip          (floating IP's own traffic)
                   -o qg -> SNAT gateway ip      (router's subnets, when snat is on)
                   DNATed, not from outside -> SNAT gateway ip (hairpin to a floating IP)

IPv6: the router forwards IPv6 between its interfaces (no NAT: Neutron has none for IPv6)
and runs radvd, as the L3 agent does, on every qr- leg with an IPv6 subnet (ipv6.py renders
its configuration; a change of interfaces is a SIGHUP, the last one gone stops it).

Multicast: with multicast_relay (the local cloud's default) the router relays IPv4 multicast
between its internal networks to groups with listeners, as OVN's mcast_relay does
(mcast_relay.py: an nftables table in the namespace, redone on every change of interfaces);
without it, as Neutron's L3 agent, it forwards none.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pyroute2.netlink.exceptions import NetlinkError

from . import daemons, ipv6, mcast_relay
from .daemons import Daemon
from .hosts import Host
from .model import PortSpec
from .names import Names
from .networks import Network, plug_veth
from .nl import DataplaneError, Ns, create_ns, remove_ns, run_in, sysctl
from .record import Record

FROM_OUTSIDE = "0x2/0xffff"


@dataclass
class Gateway:
    ip: str
    prefixlen: int
    nexthop: str | None
    snat: bool


@dataclass
class Router:
    router_id: str
    netns: str
    ns: Ns
    lock: threading.Lock = field(default_factory=threading.Lock)
    gateway: Gateway | None = None
    ports: dict[str, PortSpec] = field(default_factory=dict)
    floating: dict[str, str] = field(default_factory=dict)  # floating ip -> fixed ip
    radvd: Daemon | None = None
    relayed: tuple[str, ...] = ()  # the qr- legs the multicast relay serves now

    @property
    def qg(self) -> str:
        return Names.router_gateway(self.router_id)


def render_nat(router: Router) -> str:
    """iptables-restore input replacing the router's mangle and nat tables."""
    qg = router.qg
    mangle = ["*mangle", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]",
              ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]"]
    nat = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
           ":POSTROUTING ACCEPT [0:0]"]
    gw = router.gateway
    if gw is not None:
        mangle.append(f"-A PREROUTING -i {qg} -j MARK --set-xmark {FROM_OUTSIDE}")
        for fip, fixed in sorted(router.floating.items()):
            nat.append(f"-A PREROUTING -d {fip}/32 -j DNAT --to-destination {fixed}")
            nat.append(f"-A OUTPUT -d {fip}/32 -j DNAT --to-destination {fixed}")
        nat.append(f"-A POSTROUTING -m mark ! --mark {FROM_OUTSIDE} ! -o {qg} "
                   "-m conntrack ! --ctstate DNAT -j ACCEPT")
        for fip, fixed in sorted(router.floating.items()):
            nat.append(f"-A POSTROUTING -s {fixed}/32 -j SNAT --to-source {fip}")
        if gw.snat:
            nat.append(f"-A POSTROUTING -o {qg} -j SNAT --to-source {gw.ip}")
        nat.append(f"-A POSTROUTING -m mark ! --mark {FROM_OUTSIDE} "
                   f"-m conntrack --ctstate DNAT -j SNAT --to-source {gw.ip}")
    return "\n".join(mangle + ["COMMIT"] + nat + ["COMMIT"]) + "\n"


class Routers:
    def __init__(self, names: Names, record: Record, root: Ns, workdir: Path,
                 multicast_relay: bool = False) -> None:
        self.names, self.record, self.root, self.workdir = names, record, root, workdir
        self.multicast_relay = multicast_relay
        self.routers: dict[str, Router] = {}
        self._lock = threading.Lock()

    def get(self, router_id: str) -> Router:
        try:
            return self.routers[router_id]
        except KeyError:
            raise DataplaneError(f"router {router_id} is not in the data path") from None

    def create(self, router_id: str) -> None:
        with self._lock:
            if router_id in self.routers:
                return
            netns = self.names.router_ns(router_id)
            self.record.add("namespaces", netns)
            create_ns(netns)
            sysctl(netns, "net.ipv4.ip_forward", "1")
            for key, value in ipv6.INFRA_SYSCTLS:
                sysctl(netns, f"net.ipv6.conf.default.{key}", value)
                sysctl(netns, f"net.ipv6.conf.all.{key}", value)
            sysctl(netns, "net.ipv6.conf.all.forwarding", "1")
            self.routers[router_id] = Router(router_id, netns, Ns(netns))

    def delete(self, router_id: str) -> None:
        with self._lock:
            router = self.routers.pop(router_id, None)
        netns = self.names.router_ns(router_id)
        if router is not None:
            with router.lock:
                self._drop_gateway_leg(router)
                daemons.stop(router.radvd, self.record)
                router.radvd = None
        remove_ns(netns)
        self.record.discard("namespaces", netns)
        shutil.rmtree(self.workdir / netns, ignore_errors=True)

    def _apply_nat(self, router: Router) -> None:
        # iptables-restore: pyroute2 has no API for xtables NAT rules.
        run_in(router.netns, ["iptables-restore", "-w"], stdin=render_nat(router))

    # -- gateway --------------------------------------------------------------------------------
    def set_gateway(self, router_id: str, gateway: Gateway) -> None:
        router = self.get(router_id)
        leg = self.names.gateway_leg(router_id)
        with router.lock:
            self.record.add("root_links", leg)
            with self.root.session() as root:
                if root.index(leg) is None:
                    root.ipr.link("add", ifname=leg, kind="veth",
                                  peer={"ifname": router.qg, "net_ns_fd": router.netns})
                root.up(leg, master=root.must_index(self.names.ex_bridge))
            with router.ns.session() as ns:
                if router.gateway is not None and router.gateway.ip != gateway.ip:
                    ns.del_addr(router.qg, router.gateway.ip, router.gateway.prefixlen)
                idx = ns.up(router.qg)
                ns.add_addr(router.qg, gateway.ip, gateway.prefixlen)
                for fip in router.floating:
                    ns.add_addr(router.qg, fip, 32)
                if gateway.nexthop:
                    ns.ipr.route("replace", dst="0.0.0.0/0", gateway=gateway.nexthop, oif=idx)
            router.gateway = gateway
            self._apply_nat(router)
        for ip in [gateway.ip, *router.floating]:
            self._forget_neighbour(ip)

    def clear_gateway(self, router_id: str) -> None:
        router = self.get(router_id)
        with router.lock:
            self._drop_gateway_leg(router)
            router.gateway = None
            self._apply_nat(router)

    def _drop_gateway_leg(self, router: Router) -> None:
        leg = self.names.gateway_leg(router.router_id)
        with self.root.session() as root:
            root.del_link(leg)
        self.record.discard("root_links", leg)

    # -- interfaces -----------------------------------------------------------------------------
    def add_interface(self, router_id: str, port: PortSpec, net: Network,
                      network_node: Host) -> None:
        router = self.get(router_id)
        qr = Names.router_port(port.port_id)
        with router.lock:
            peer = {"ifname": qr, "net_ns_fd": router.netns, "address": port.mac}
            plug_veth(network_node, net, Names.tap(port.port_id), peer, port.mtu)
            with router.ns.session() as ns:
                ns.up(qr)
                if port.ip:
                    ns.add_addr(qr, port.ip, port.prefixlen)
                for address in port.ipv6:
                    ns.add_addr(qr, address.ip, address.prefixlen)
            router.ports[port.port_id] = port
            if port.ipv6:
                self._radvd(router)
            self._relay(router)

    def remove_interface(self, router_id: str, port_id: str, network_node: Host) -> None:
        router = self.get(router_id)
        with router.lock:
            with network_node.ns.session() as ns:
                ns.del_link(Names.tap(port_id))
            with router.ns.session() as ns:
                ns.del_link(Names.router_port(port_id))
            gone = router.ports.pop(port_id, None)
            if gone is not None and gone.ipv6:
                self._radvd(router)
            self._relay(router)

    def _relay(self, router: Router) -> None:
        """The multicast relay between the router's internal IPv4 legs, as they are now
        (caller holds the router's lock); nothing when the cloud does not relay."""
        if not self.multicast_relay:
            return
        legs = tuple(sorted(Names.router_port(p.port_id) for p in router.ports.values() if p.ip))
        if legs != router.relayed:
            mcast_relay.apply(router.netns, legs, router.relayed)
            router.relayed = legs

    def _radvd(self, router: Router) -> None:
        """radvd for the router's IPv6 interfaces: (re)configured, started, or stopped when
        none is left (caller holds the router's lock)."""
        conf = ipv6.radvd_conf((Names.router_port(p.port_id), p.mtu, p.ipv6)
                               for p in router.ports.values())
        directory = self.workdir / router.netns
        if not conf:
            daemons.stop(router.radvd, self.record)
            router.radvd = None
            return
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "radvd.conf"
        path.write_text(conf)
        path.chmod(0o644)  # radvd refuses a configuration others may write
        if router.radvd is not None and router.radvd.running():
            router.radvd.reload()
            return
        router.radvd = daemons.start("radvd", router.netns, [
            "radvd", "--nodaemon", "-C", str(path), "-p", str(directory / "radvd.pid"),
            "-m", "stderr"], directory, self.record)

    # -- floating IPs ---------------------------------------------------------------------------
    def add_floating_ip(self, router_id: str, floating_ip: str, fixed_ip: str) -> None:
        router = self.get(router_id)
        with router.lock:
            router.floating[floating_ip] = fixed_ip
            if router.gateway is not None:
                with router.ns.session() as ns:
                    ns.add_addr(router.qg, floating_ip, 32)
            self._apply_nat(router)
        self._forget_neighbour(floating_ip)

    def _forget_neighbour(self, ip: str) -> None:
        """Drop the root namespace's ARP entry for ip: the address may have moved to another
        router's qg- MAC (the L3 agent sends gratuitous ARP for the same reason)."""
        with self.root.session() as root:
            idx = root.index(self.names.ex_bridge)
            if idx is None:
                return
            try:
                root.ipr.neigh("del", dst=ip, ifindex=idx)
            except NetlinkError:
                pass  # no entry: nothing to forget

    def remove_floating_ip(self, router_id: str, floating_ip: str) -> None:
        router = self.get(router_id)
        with router.lock:
            router.floating.pop(floating_ip, None)
            with router.ns.session() as ns:
                ns.del_addr(router.qg, floating_ip, 32)
            self._apply_nat(router)
