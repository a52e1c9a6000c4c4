"""The contract between the local cloud's API layer and its data path.

The API layer (state + HTTP) decides ids, addresses and MACs; the data path only builds
what it is told. Every method is idempotent enough to be retried after a partial failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

IPV6_SLAAC = "slaac"
DHCPV6_STATELESS = "dhcpv6-stateless"
DHCPV6_STATEFUL = "dhcpv6-stateful"
IPV6_MODES = (DHCPV6_STATEFUL, DHCPV6_STATELESS, IPV6_SLAAC)  # Neutron's order (its 400 lists them so)


@dataclass(frozen=True)
class Ipv6Address:
    """One IPv6 fixed IP of a port and what its subnet says about it.

    On a VM's port the data path never sets it: the guest learns it from router
    advertisements (SLAAC) or DHCPv6, and the data path only checks that it arrived. On a
    router's port it is the subnet's gateway, set on the qr- leg and advertised by radvd."""

    ip: str
    cidr: str  # the subnet, e.g. "fd5e:5:1::/64"
    ra_mode: str | None = None  # ipv6_ra_mode: who sends router advertisements (None: not us)
    address_mode: str | None = None  # ipv6_address_mode: slaac, dhcpv6-stateless, -stateful

    @property
    def prefixlen(self) -> int:
        return int(self.cidr.rpartition("/")[2])


@dataclass(frozen=True)
class PortSpec:
    """A Neutron port as the data path needs it."""

    port_id: str
    network_id: str
    mac: str
    ip: str  # the port's IPv4 address ("" for a port with IPv6 addresses only)
    prefixlen: int
    gateway: str | None  # the subnet's gateway (None: no default route)
    mtu: int = 1450
    ipv6: tuple[Ipv6Address, ...] = ()  # its IPv6 fixed IPs (dual stack: besides ip)
    # normal: a tap on the network's bridge, filtered by the security groups; direct /
    # macvtap: an SR-IOV VF emulated by a macvlan / macvtap on the host's physical network,
    # beside the bridge and unfiltered (binding.py decided that the network allows it).
    vnic_type: str = "normal"
    # True: the data path gives the VM its IPv4 address (standing for the DHCP agent); False
    # (the subnet's enable_dhcp is off): the VM has none unless its config drive says it
    # (firstboot).
    dhcp: bool = True


@dataclass(frozen=True)
class DhcpSpec:
    """A network's DHCPv6 server (dnsmasq in a qdhcp- namespace, as Neutron's DHCP agent runs
    it) for its DHCPv6 subnets: stateful ones hand out the hosts' addresses, stateless ones
    only options."""

    port: PortSpec  # the network:dhcp port (its IPv6 addresses on those subnets)
    subnets: tuple[tuple[str, str, str], ...]  # (subnet id, cidr, ipv6_address_mode)
    hosts: tuple[tuple[str, str], ...] = ()  # (mac, IPv6 address) of every port on stateful ones
    dns_servers: tuple[str, ...] = ()  # the subnets' IPv6 dns_nameservers


@dataclass(frozen=True)
class ProviderSegment:
    """Where a provider network lives: a physical network, tagged (VLAN) or not (flat)."""

    physical_network: str  # one of Dataplane.physical_networks()
    vid: int | None = None  # the VLAN id; None: flat


@dataclass(frozen=True)
class SecurityRule:
    """A Neutron security group rule, flattened (remote groups resolved to prefixes)."""

    direction: str  # "ingress" | "egress"
    ethertype: str = "IPv4"
    protocol: str | None = None  # None = any, else "tcp" | "udp" | "icmp"
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None  # None = any


@dataclass(frozen=True)
class ServerSpec:
    server_id: str
    host: str  # compute host name, one of Dataplane.hosts()
    ports: tuple[PortSpec, ...]
    authorized_keys: str  # OpenSSH public key lines for the login user (root)
    start_sshd: bool = True  # False: fault injection, the "VM" boots but sshd never starts
    security_rules: tuple[SecurityRule, ...] = field(default_factory=tuple)
    port_security: bool = True  # False: no filtering at all on its ports
    # The config drive's files (path under the drive -> content), () for none: written to a
    # directory of the VM's whose path its sshd sessions find in $VMTP_CONFIG_DRIVE; a first
    # boot step in the VM then reads network_data.json, as cloud-init does (firstboot.py).
    config_drive: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class End:
    """One end of a veth: its namespace (None: the root one) and its name there."""

    netns: str | None
    ifname: str


@dataclass(frozen=True)
class Leg:
    """A veth of the cloud: its device end (a VM's ethN, a router's qr-/qg-, a host's mgmt0)
    and its far end (the tap on a bridge, or the root namespace's side)."""

    device: End
    far: End
    far_bridged: bool = False  # the far end is a bridge port in a host namespace (VM ports)


@dataclass(frozen=True)
class Effect:
    """What one direction of a leg does to its packets (fault injection)."""

    rate_bps: int | None = None
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0

    def merged(self, other: Effect) -> Effect:
        """self with other's settings on top, setting by setting."""
        return Effect(other.rate_bps if other.rate_bps is not None else self.rate_bps,
                      other.delay_ms or self.delay_ms, other.jitter_ms or self.jitter_ms,
                      other.loss_pct or self.loss_pct)


@dataclass(frozen=True)
class LegState:
    """A leg's faults: out = device -> far, into = far -> device, down = carries nothing."""

    out: Effect = Effect()
    into: Effect = Effect()
    down: bool = False


NORMAL = LegState()


class Dataplane(Protocol):
    """What the API layer asks of the kernel. One implementation: linux.LinuxDataplane."""

    def start(self, host_authorized_keys: str | None = None) -> None:
        """Build the management/underlay bridge, host namespaces and the external bridge.

        host_authorized_keys: when given, each compute host runs an sshd on its management
        address accepting these keys (so native host-to-host scenarios can use the hosts)."""

    def hosts(self) -> list[str]:
        """Compute host names, e.g. ["compute1", "compute2"]."""

    def host_gmond_port(self) -> int | None:
        """The TCP port of the Ganglia gmond each compute host runs on its management address
        (its CPU load, as a monitored cloud's hosts report it); None when they run none."""

    def host_address(self, host: str) -> str:
        """The compute host's management IP (Nova's hypervisor host_ip), reachable from root."""

    def host_public_key(self) -> str:
        """"type base64" of the SSH host key the hosts' (and servers') sshd offer."""

    def external_gateway(self) -> tuple[str, int]:
        """(ip, prefixlen) of the root namespace's address on the external bridge."""

    def physical_networks(self) -> list[str]:
        """The physical networks provider networks can use, e.g. ["physnet1"]."""

    def ensure_network(self, network_id: str, vni: int, mtu: int, external: bool = False,
                       provider: ProviderSegment | None = None) -> None:
        """A bridge per host joined by VXLAN (VNI vni); external=True maps to br-ex instead;
        provider: joined by the physical network's segment instead (vni unused)."""

    def delete_network(self, network_id: str) -> None: ...

    def update_dhcp(self, network_id: str, spec: DhcpSpec | None) -> None:
        """Bring the network's DHCPv6 server to spec: its namespace and leg made, dnsmasq
        started or told of new hosts (SIGHUP); None: stopped and removed."""

    def add_provider_gateway(self, network_id: str, ip: str, prefixlen: int) -> None:
        """This machine takes ip/prefixlen on the provider network (the physical router of its
        subnet), so it reaches the network's VMs directly. DataplaneError when the range is
        already in use here."""

    def remove_provider_gateway(self, network_id: str, ip: str, prefixlen: int) -> None: ...

    def boot_server(self, spec: ServerSpec) -> None:
        """Namespace + veth(s) on the host's bridge(s), addresses, routes, filters, sshd.
        IPv4 addresses are set; IPv6 ones the guest configures itself (router
        advertisements, and a DHCPv6 client when they say so).

        Returns when sshd listens and the ports' IPv6 addresses are there (or at once when
        start_sshd is False)."""

    def delete_server(self, server_id: str) -> None: ...

    def update_security(self, server_id: str, rules: tuple[SecurityRule, ...]) -> None:
        """Replace the ingress/egress filter of the server's ports.

        Stateful: replies to allowed flows always pass. Ingress: only what a rule allows
        (no ingress rule: nothing gets in). Egress: no egress rule at all means everything
        may leave (Neutron's default group); with egress rules, only those. IPv4 rules go to
        iptables, IPv6 rules to ip6tables (with the ICMPv6 and DHCPv6 rules Neutron's
        firewall adds by itself)."""

    def create_router(self, router_id: str) -> None: ...

    def delete_router(self, router_id: str) -> None: ...

    def set_router_gateway(self, router_id: str, ip: str, prefixlen: int, gateway: str | None,
                           snat: bool = True) -> None:
        """Gateway leg on the external network; SNAT of the router's subnets behind ip."""

    def clear_router_gateway(self, router_id: str) -> None: ...

    def add_router_interface(self, router_id: str, port: PortSpec) -> None:
        """A leg on the port's network with the port's IP (usually the subnet gateway); IPv6
        addresses are routed and advertised (radvd) as their subnets' ra_mode says."""

    def remove_router_interface(self, router_id: str, port_id: str) -> None: ...

    def add_floating_ip(self, router_id: str, floating_ip: str, fixed_ip: str) -> None:
        """DNAT floating -> fixed and SNAT fixed -> floating in the router namespace."""

    def remove_floating_ip(self, router_id: str, floating_ip: str) -> None: ...

    def stop(self) -> None:
        """Remove every kernel object and process this data path made."""

    # -- fault injection (faultplane.py) ---------------------------------------------------------
    def server_legs(self, server_id: str) -> dict[str, Leg]:
        """port id -> leg of each port of a booted server ({} otherwise)."""

    def router_legs(self, router_id: str) -> dict[str, Leg]:
        """port id -> leg of each router interface, plus "gateway" -> its gateway leg."""

    def host_leg(self, host: str) -> Leg:
        """A compute host's underlay leg."""

    def impair(self, leg: Leg, state: LegState) -> None:
        """Bring a leg to a fault state (NORMAL clears it)."""

    def forget_leg(self, leg: Leg) -> None:
        """The leg is gone: forget what was applied to it."""

    def kill_sshd(self, server_id: str) -> bool:
        """SIGKILL the server's sshd (and its sessions); False if none ran."""

    def kill_namespace(self, server_id: str) -> bool:
        """Kill the server's processes and remove its namespace, as a VM crash."""

    def kill_tool(self, server_id: str, tool: str) -> int:
        """SIGKILL processes called tool in the server; how many."""

    def tool_running(self, server_id: str, tool: str) -> bool:
        """Is a process called tool running in the server?"""


class DataplaneClass(Protocol):
    """A data path implementation as the server makes one and `clean` removes one's leftovers."""

    def __call__(self, *, prefix: str, compute_hosts: int, state_dir: Path,
                 mgmt_cidr: str = ..., external_cidr: str = ...,
                 physical_networks: tuple[str, ...] = ..., external: bool = ...,
                 multicast_relay: bool = ...) -> Dataplane: ...

    def clean(self, prefix: str, state_dir: Path | str) -> None:
        """Remove every kernel object and process of this prefix, even after a kill -9."""
