"""Physical networks and the provider networks (flat, VLAN) on them, as the linuxbridge agent
plugs them, with this machine as the datacenter's switch and router.

Root namespace: one bridge `<prefix>-p<i>` per physical network (physnet1 is i=1); every host
namespace (the compute hosts and the network node) has a leg on it: `<prefix>-p<i><host>`
here, `phys<i>` there, a port of the host's bridge `trunk<i>`.
SR-IOV ports (vnic_type direct, macvtap) of a segment hang off its VF uplink on the trunk
(`f<i>t<vid>`, a tag port too, whose other end `f<i>p<vid>` is their lower device), beside the
network's bridge: no bridge port, no security-group filter, as a VF bypasses the host.
A provider network's segment on a host: a veth from the trunk (`s<i>t<vid>`, a tag port, see
tagging.py) to the network's own bridge `brq<net>` (`s<i>v<vid>`); vid 0 names the flat,
untagged segment. So the frames of every segment share the physical network, tagged, and
each segment sees only its own.
This machine holds a provider subnet's gateway address on `<prefix>-p<i>.<vid>`, the far end
of its own tag port on `<prefix>-p<i>`, as the physical router of that subnet would: the
plugin reaches VMs on provider networks directly. It does not route between segments.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pyroute2.netlink.exceptions import NetlinkError

from .addressing import in_use
from .hosts import Host
from .model import ProviderSegment
from .names import Names
from .nl import DataplaneError, Ns
from .record import Record
from .tagging import make_tag_port


def plug_host(root: Ns, names: Names, record: Record, index: int, host: Host) -> None:
    """The host's leg on physical network <index> and its trunk bridge (idempotent)."""
    leg, wire, trunk = names.phys_leg(index, host.name), Names.phys_wire(index), Names.trunk(index)
    record.add("root_links", leg)
    with root.session() as session:
        if session.index(leg) is None:
            session.ipr.link("add", ifname=leg, kind="veth",
                             peer={"ifname": wire, "net_ns_fd": host.netns})
        session.up(leg, master=session.must_index(names.phys_bridge(index)))
    with host.ns.session() as ns:
        if ns.index(trunk) is None:
            ns.ipr.link("add", ifname=trunk, kind="bridge", br_mcast_snooping=0)
        bridge = ns.up(trunk)
        ns.up(wire, master=bridge)


def plug_segment(host: Host, index: int, segment: ProviderSegment, bridge: str) -> None:
    """The segment's tag port on the host's trunk, its other end on the network's bridge."""
    port, leg = Names.segment_port(index, segment.vid), Names.segment_leg(index, segment.vid)
    with host.ns.session() as ns:
        if ns.index(port) is None:
            ns.ipr.link("add", ifname=port, kind="veth", peer={"ifname": leg})
        make_tag_port(ns, port, segment.vid)
        ns.up(port, master=ns.must_index(Names.trunk(index)))
        ns.up(leg, master=ns.must_index(bridge))


def unplug_segment(host: Host, index: int, segment: ProviderSegment) -> None:
    with host.ns.session() as ns:
        ns.del_link(Names.segment_port(index, segment.vid))
        ns.del_link(Names.vf_port(index, segment.vid))  # its VFs' uplink, if any booted here


def plug_vf_uplink(host: Host, index: int, segment: ProviderSegment) -> str:
    """The segment's SR-IOV uplink on the host (idempotent): a tag port on the trunk whose
    other end, left out of every bridge, is the lower device of the segment's VFs. The VFs
    (macvlan or macvtap in bridge mode: the NIC's embedded switch, hw_veb) reach each other
    on it directly and the physical network through the tag port, tagged as the segment is,
    as an SR-IOV NIC tags a VF's frames. Returns the lower device's name."""
    port, lower = Names.vf_port(index, segment.vid), Names.vf_lower(index, segment.vid)
    with host.ns.session() as ns:
        if ns.index(port) is None:
            ns.ipr.link("add", ifname=port, kind="veth", peer={"ifname": lower})
        make_tag_port(ns, port, segment.vid)
        ns.up(port, master=ns.must_index(Names.trunk(index)))
        ns.up(lower)
    return lower


def add_gateway(root: Ns, names: Names, record: Record, index: int, segment: ProviderSegment,
                ip: str, prefixlen: int) -> None:
    """This machine's address ip/prefixlen on the segment; DataplaneError when that range is
    in use here already (another cloud's, this machine's own networks, an overlapping subnet)."""
    port, end = names.phys_tag_port(index, segment.vid), names.phys_gateway(index, segment.vid)
    subnet = ipaddress.IPv4Network(f"{ip}/{prefixlen}", strict=False)
    with root.session() as session:
        idx = session.index(end)
        mine = idx is not None and any(a.get("IFA_ADDRESS") == ip for a in session.ipr.get_addr(index=idx))
    if mine:
        return
    used = in_use(subnet)
    if used:
        raise DataplaneError(f"{subnet} is in use on this machine already ({used}), so it cannot "
                             "be the gateway of this provider subnet")
    record.add("root_links", port)
    with root.session() as session:
        if session.index(port) is None:
            session.ipr.link("add", ifname=port, kind="veth", peer={"ifname": end})
            make_tag_port(session, port, segment.vid)
        session.up(port, master=session.must_index(names.phys_bridge(index)))
        # This machine answers for its own addresses only; it routes nothing between segments
        # (nor out of the machine) even where ip_forward is on. The name has a dot: no sysctl().
        Path(f"/proc/sys/net/ipv4/conf/{end}/forwarding").write_text("0")
        session.up(end)
        session.add_addr(end, ip, prefixlen)


def forget_neighbour(root: Ns, names: Names, index: int, segment: ProviderSegment, ip: str) -> None:
    """Drop this machine's ARP entry for ip on the segment: a port that takes a freed address
    has a new MAC (a real router learns it from the VM's gratuitous ARP or a timeout)."""
    with root.session() as session:
        idx = session.index(names.phys_gateway(index, segment.vid))
        if idx is None:
            return
        try:
            session.ipr.neigh("del", dst=ip, ifindex=idx)
        except NetlinkError:
            pass  # no entry: nothing to forget


def remove_gateway(root: Ns, names: Names, index: int, segment: ProviderSegment, ip: str,
                   prefixlen: int) -> None:
    with root.session() as session:
        session.del_addr(names.phys_gateway(index, segment.vid), ip, prefixlen)


def drop_gateway_port(root: Ns, names: Names, record: Record, index: int,
                      segment: ProviderSegment) -> None:
    """The segment's port on this machine goes (with the network)."""
    port = names.phys_tag_port(index, segment.vid)
    with root.session() as session:
        session.del_link(port)
    record.discard("root_links", port)


def check_segment(physical_networks: list[str], segment: ProviderSegment) -> int:
    """The physical network's index (1-based), or DataplaneError."""
    try:
        return physical_networks.index(segment.physical_network) + 1
    except ValueError:
        raise DataplaneError(f"unknown physical network {segment.physical_network!r}; this data "
                             f"path has {', '.join(physical_networks) or 'none'}") from None
