"""Kernel object names of one local cloud, derived from its prefix and the API's ids.

Linux interface names hold at most 15 characters, so ids are cut the way Neutron cuts them
(tap/qr-/qg- + 11 characters of the port id). Everything in the root namespace and every
namespace starts with "<prefix>-", which is what clean() scans for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IFNAMSIZ = 15
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,4}$")


def check_prefix(prefix: str) -> str:
    """A prefix of 1-5 lower-case letters/digits: "<prefix>-g<8 hex>" must fit 15 characters."""
    if not _PREFIX_RE.match(prefix):
        raise ValueError(f"dataplane prefix {prefix!r}: use 1-5 characters [a-z0-9], "
                         "starting with a letter")
    return prefix


def short(ident: str, n: int) -> str:
    """The first n characters of an id without its dashes."""
    return ident.replace("-", "")[:n]


@dataclass(frozen=True)
class Names:
    prefix: str

    # -- root namespace -------------------------------------------------------------------------
    @property
    def mgmt_bridge(self) -> str:
        return f"{self.prefix}-mgmt"

    @property
    def ex_bridge(self) -> str:
        return f"{self.prefix}-ex"

    def host_mgmt_leg(self, host: str) -> str:
        """Root-side veth of a host's management leg: vlc-mc1, vlc-mnet."""
        return _fit(f"{self.prefix}-m{_host_tag(host)}")

    def gateway_leg(self, router_id: str) -> str:
        """Root-side veth of a router's qg- leg, on the external bridge."""
        return _fit(f"{self.prefix}-g{short(router_id, 8)}")

    def external_tap(self, port_id: str) -> str:
        """Root-side veth of a VM port plugged straight into the external network."""
        return _fit(f"{self.prefix}-t{short(port_id, 8)}")

    def phys_bridge(self, index: int) -> str:
        """Physical network <index>'s switch: vlc-p1."""
        return _fit(f"{self.prefix}-p{index}")

    def phys_leg(self, index: int, host: str) -> str:
        """Root-side veth of a host's leg on physical network <index>: vlc-p1c1, vlc-p1net."""
        return _fit(f"{self.prefix}-p{index}{_host_tag(host)}")

    def phys_tag_port(self, index: int, vid: int | None) -> str:
        """This machine's port of a segment (VLAN vid, None: flat) on the switch: vlc-p1t101."""
        return _fit(f"{self.prefix}-p{index}t{vid or 0}")

    def phys_gateway(self, index: int, vid: int | None) -> str:
        """Where this machine holds a provider subnet's gateway: vlc-p1.101 (vlc-p1.0: flat)."""
        return _fit(f"{self.prefix}-p{index}.{vid or 0}")

    # -- namespaces -----------------------------------------------------------------------------
    def host_ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def server_ns(self, server_id: str) -> str:
        return f"{self.prefix}-vm-{short(server_id, 8)}"

    def router_ns(self, router_id: str) -> str:
        return f"{self.prefix}-qrouter-{short(router_id, 8)}"

    def dhcp_ns(self, network_id: str) -> str:
        """A network's DHCP server (Neutron's qdhcp-<network id>)."""
        return f"{self.prefix}-qdhcp-{short(network_id, 8)}"

    # -- inside namespaces (no prefix needed: the namespace is ours) ---------------------------
    @staticmethod
    def network_bridge(network_id: str) -> str:
        return "brq" + network_id[:11]

    @staticmethod
    def vxlan(vni: int) -> str:
        return f"vxlan-{vni}"

    @staticmethod
    def tap(port_id: str) -> str:
        return "tap" + port_id[:11]

    @staticmethod
    def router_port(port_id: str) -> str:
        return "qr-" + port_id[:11]

    @staticmethod
    def router_gateway(router_id: str) -> str:
        return "qg-" + router_id[:11]

    @staticmethod
    def phys_wire(index: int) -> str:
        """A host namespace's end of its leg on physical network <index>."""
        return f"phys{index}"

    @staticmethod
    def trunk(index: int) -> str:
        """A host namespace's bridge of physical network <index> (its leg and segment ports)."""
        return f"trunk{index}"

    @staticmethod
    def segment_port(index: int, vid: int | None) -> str:
        """The trunk's tag port of a segment (VLAN vid, None: flat) in a host namespace."""
        return f"s{index}t{vid or 0}"

    @staticmethod
    def segment_leg(index: int, vid: int | None) -> str:
        """The segment's end on its network's bridge, in a host namespace."""
        return f"s{index}v{vid or 0}"

    @staticmethod
    def vf_port(index: int, vid: int | None) -> str:
        """The trunk's tag port of a segment's SR-IOV "NIC" (its VFs' uplink), in a host namespace."""
        return f"f{index}t{vid or 0}"

    @staticmethod
    def vf_lower(index: int, vid: int | None) -> str:
        """The other end of that veth: the lower device of the segment's VFs (macvlan/macvtap)."""
        return f"f{index}p{vid or 0}"

    @staticmethod
    def sg_chain(port_id: str, direction: str) -> str:
        """iptables chain of a port's filter, "sg-i<10>" (ingress) / "sg-o<10>" (egress), and
        ip6tables' "sg-s<10>" (spoof: the addresses the port may send from)."""
        tag = {"ingress": "i", "egress": "o", "spoof": "s"}[direction]
        return f"sg-{tag}{short(port_id, 10)}"


MGMT_LEG = "mgmt0"  # a host namespace's end of its management veth


def _host_tag(host: str) -> str:
    """"net" for the network node, "c<N>" for compute<N>."""
    return "net" if host == "network" else "c" + host.removeprefix("compute")


def _fit(name: str) -> str:
    if len(name) > IFNAMSIZ:
        raise ValueError(f"interface name {name!r} is longer than {IFNAMSIZ} characters")
    return name
