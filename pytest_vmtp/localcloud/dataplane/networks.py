"""Tenant networks: a bridge per host namespace, joined by VXLAN over the underlay.

Like Neutron's linuxbridge agent with l2population: one VXLAN device per network and host
(VNI = segmentation id, UDP 4789, local = the host's management IP) and head-end replication
through static all-zero FDB entries towards every other host; learning stays on for unicast.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from dataclasses import dataclass

from pyroute2.netlink.exceptions import NetlinkError

from .hosts import Host
from .model import ProviderSegment
from .names import MGMT_LEG, Names

VXLAN_PORT = 4789
ZERO_MAC = "00:00:00:00:00:00"


@dataclass(frozen=True)
class Network:
    network_id: str
    vni: int
    mtu: int
    external: bool = False
    provider: ProviderSegment | None = None  # a provider network: no VXLAN (physnets.py)

    @property
    def bridge(self) -> str:
        return Names.network_bridge(self.network_id)

    @property
    def vxlan(self) -> str:
        return Names.vxlan(self.vni)


def add_bridge(host: Host, net: Network) -> None:
    """The network's bridge in one host namespace (idempotent)."""
    with host.ns.session() as ns:
        if ns.index(net.bridge) is None:
            # Snooping off, as on Neutron's bridges: with no IGMP querier on the segment a
            # snooping bridge may stop flooding a group to VXLAN peers (VMTP's multicast rows).
            ns.ipr.link("add", ifname=net.bridge, kind="bridge", mtu=net.mtu,
                        br_mcast_snooping=0)
        ns.up(net.bridge)


def plug_network(host: Host, net: Network, peers: list[str]) -> None:
    """Bridge + VXLAN device of `net` in one host namespace (idempotent)."""
    add_bridge(host, net)
    with host.ns.session() as ns:
        bridge = ns.must_index(net.bridge)
        if ns.index(net.vxlan) is None:
            ns.ipr.link("add", ifname=net.vxlan, kind="vxlan", vxlan_id=net.vni,
                        vxlan_local=host.ip, vxlan_link=ns.must_index(MGMT_LEG),
                        vxlan_port=VXLAN_PORT, vxlan_learning=1, mtu=net.mtu)
        vx = ns.must_index(net.vxlan)
        for peer in peers:
            try:
                ns.ipr.fdb("append", ifindex=vx, lladdr=ZERO_MAC, dst=peer)
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    raise
        ns.ipr.link("set", index=vx, master=bridge, state="up")
        ns.ipr.link("set", index=bridge, state="up")


def unplug_network(host: Host, net: Network) -> None:
    with host.ns.session() as ns:
        ns.del_link(net.vxlan)
        ns.del_link(net.bridge)


def plug_veth(host: Host, net: Network, ifname: str, peer: Mapping[str, object], mtu: int) -> None:
    """A veth whose `ifname` end joins the network's bridge in the host namespace and whose
    peer (a dict for pyroute2, with its own name, namespace, MAC) goes elsewhere."""
    with host.ns.session() as ns:
        if ns.index(ifname) is None:
            ns.ipr.link("add", ifname=ifname, kind="veth", mtu=mtu, peer={**peer, "mtu": mtu})
        ns.up(ifname, master=ns.must_index(net.bridge))
