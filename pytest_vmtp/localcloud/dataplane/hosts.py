"""The root namespace's two bridges and the host namespaces hanging off the underlay.

The root namespace plays DevStack's machine: `<prefix>-mgmt` carries management and VXLAN
underlay traffic between host namespaces, `<prefix>-ex` is the external network "public".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .addressing import NETWORK_NODE, Addressing
from .names import MGMT_LEG, Names
from .nl import Ns, create_ns, remove_ns, run_in, sysctl
from .record import Record


@dataclass
class Host:
    """A compute host or the network node: one namespace with a leg on the underlay."""

    name: str
    netns: str
    ip: str
    ns: Ns = field(repr=False)


def forward_rules(names: Names, physnets: int = 0) -> list[list[str]]:
    """Root-ns FORWARD accepts for our bridges: with br_netfilter loaded, bridged frames cross
    the root's iptables, and a DROP policy (Docker sets one) would cut the underlay; the
    crossed pairs let VMs (SNATed by their router) reach the hosts, as on a DevStack box.
    Physical networks' switches forward within themselves only."""
    tag = ["-m", "comment", "--comment", f"{names.prefix}-dataplane"]
    bridges = (names.mgmt_bridge, names.ex_bridge)
    accept = [["FORWARD", "-i", a, "-o", b, *tag, "-j", "ACCEPT"]
              for a in bridges for b in bridges]
    switches = [names.phys_bridge(i) for i in range(1, physnets + 1)]
    accept += [["FORWARD", "-i", p, "-o", p, *tag, "-j", "ACCEPT"] for p in switches]
    # Nothing from the cloud is forwarded anywhere else (e.g. out of the machine's uplink),
    # nor routed by this machine between provider segments (its <prefix>-p<i>.<vid> ends).
    drop = [["FORWARD", "-i", a, *tag, "-j", "DROP"] for a in bridges]
    drop += [["FORWARD", "-i", f"{p}+", *tag, "-j", "DROP"] for p in switches]
    return accept + drop


class Underlay:
    """Builds and removes the root bridges and the host namespaces."""

    def __init__(self, names: Names, addressing: Addressing, record: Record, root: Ns) -> None:
        self.names, self.addressing, self.record, self.root = names, addressing, record, root
        self.hosts: dict[str, Host] = {}

    def build(self, compute_hosts: int, physnets: int = 0, external: bool = True) -> None:
        """external=False: no external network (and no address in its range); physnets: how
        many physical networks' switches (the hosts' legs on them are physnets.py's)."""
        self._bridge(self.names.mgmt_bridge, self.addressing.root_mgmt_ip,
                     self.addressing.mgmt.prefixlen)
        bridges = [self.names.mgmt_bridge]
        if external:
            self._bridge(self.names.ex_bridge, self.addressing.root_external_ip,
                         self.addressing.external.prefixlen)
            bridges.append(self.names.ex_bridge)
        for index in range(1, physnets + 1):
            # Snooping off, as on the hosts' bridges (networks.py): no IGMP querier here.
            self._bridge(self.names.phys_bridge(index), None, 0, br_mcast_snooping=0)
        for bridge in bridges:
            # Forwarding on these two devices only (IPv4 checks the inbound device's flag), so
            # "VM to host" traffic crosses from the external to the management network
            # without turning on ip_forward for the whole machine.
            sysctl(None, f"net.ipv4.conf.{bridge}.forwarding", "1")
        for rule in reversed(forward_rules(self.names, physnets)):  # each -I goes on top: keep order
            self.record.add("root_rules", rule)
            # iptables: pyroute2 has no API for xtables rules.
            run_in(None, ["iptables", "-w", "-I", *rule])
        for name in [NETWORK_NODE] + [f"compute{i}" for i in range(1, compute_hosts + 1)]:
            self.hosts[name] = self._host(name)

    def _bridge(self, ifname: str, ip: str | None, prefixlen: int, **options: int) -> None:
        self.record.add("root_links", ifname)
        with self.root.session() as root:
            if root.index(ifname) is None:
                root.ipr.link("add", ifname=ifname, kind="bridge", **options)
            if ip is not None:
                root.add_addr(ifname, ip, prefixlen)
            root.up(ifname)

    def _host(self, name: str) -> Host:
        netns, leg = self.names.host_ns(name), self.names.host_mgmt_leg(name)
        ip = self.addressing.host_ip(name)
        self.record.add("namespaces", netns)
        self.record.add("root_links", leg)
        create_ns(netns)
        with self.root.session() as root:
            if root.index(leg) is None:
                root.ipr.link("add", ifname=leg, kind="veth",
                              peer={"ifname": MGMT_LEG, "net_ns_fd": netns})
            root.up(leg, master=root.must_index(self.names.mgmt_bridge))
        host = Host(name, netns, ip, Ns(netns))
        with host.ns.session() as ns:
            ns.add_addr(MGMT_LEG, ip, self.addressing.mgmt.prefixlen)
            idx = ns.up(MGMT_LEG)
            # Replies to VMs (they arrive SNATed to external addresses) go back via the root.
            ns.ipr.route("replace", dst=self.addressing.external_cidr,
                         gateway=self.addressing.root_mgmt_ip, oif=idx)
        return host

    def teardown(self) -> None:
        """Remove host namespaces, root links and rules; tolerant of half-built state."""
        self.hosts.clear()
        teardown_recorded(self.record, self.root)


def teardown_recorded(record: Record, root: Ns) -> None:
    """Remove whatever the record lists, root links first so veth peers vanish at once."""
    data = record.data
    for ifname in list(data.root_links):
        with root.session() as session:
            session.del_link(ifname)
        record.discard("root_links", ifname)
    for netns in list(data.namespaces):
        remove_ns(netns)
        record.discard("namespaces", netns)
    for rule in list(data.root_rules):
        delete_root_rule(rule)
        record.discard("root_rules", rule)


def delete_root_rule(rule: list[str]) -> None:
    """Delete every copy of a root-ns iptables rule (a crash may have added it twice)."""
    for _ in range(10):
        try:
            run_in(None, ["iptables", "-w", "-D", *rule])
        except Exception:  # noqa: BLE001 - no such rule left: done
            return
