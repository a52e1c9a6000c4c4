"""CloudSettings: what the topology needs to know about the cloud, filled by the plugin."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from pytest_vmtp.defaults import value

# The tool ports the security group opens to the flows' sources (nuttcp's: 5001 data, 5002
# control); the plugin sets the selected tool's (run_cloud.tool_ports). SSH and ICMP are apart.
DEFAULT_TCP_PORTS: tuple[tuple[int, int], ...] = ((5001, 5002),)
DEFAULT_UDP_PORTS: tuple[tuple[int, int], ...] = ((5001, 5001),)
# A source prefix standing for this machine's own address toward the run's router.
THIS_MACHINE = "this-machine"


@dataclass
class CloudSettings:
    """Defaults of the keys defaults.yaml has come from it (pytest_vmtp.defaults)."""

    image: str = value("image")  # Glance image name or id
    flavor: str = value("flavor")  # Nova flavor name or id
    external_network: str | None = None  # None: the first router:external network, if any
    # Existing resources to use instead of making them (names or ids); the run never deletes
    # them. networks: network 1 (the server's) and optionally network 2.
    networks: list[str] = field(default_factory=list)
    router: str | None = None
    security_group: str | None = None
    key_pair: str | None = None  # a Nova key pair, with private_key: its private half here
    private_key: str | None = None
    cidrs: tuple[str, str] = value("cidrs")
    login_user: str | None = None  # None: the image's os_admin_user property, else "ubuntu"
    hypervisors: list[str] = field(default_factory=list)  # up to two "[az:]host": server's, client's
    availability_zone: str | None = None
    boot_timeout_s: float = value("boot_timeout_s")
    ssh_timeout_s: float = value("ssh_timeout_s")
    tcp_ports: tuple[tuple[int, int], ...] = DEFAULT_TCP_PORTS
    udp_ports: tuple[tuple[int, int], ...] = DEFAULT_UDP_PORTS
    # Ingress to the tool ports and ICMP comes only from the run's subnets, the router's
    # external address, the VMs' floating IPs (VM-to-floating-IP traffic is SNATed to one of
    # them) and these prefixes (the external host; THIS_MACHINE allowed).
    flow_sources: tuple[str, ...] = value("flow_sources")
    # Who may reach SSH (22): the controller, whose address as the VMs see it is unknown in
    # general (NAT); the VMs accept only the run's own key.
    ssh_sources: tuple[str, ...] = ("0.0.0.0/0",)
    use_floating_ips: bool = value("floating_ips")  # False: --vmtp-no-floating-ip (the NAT rows skip)
    use_floating_ip_for_ssh: bool = True  # SSH to the floating IP when the VMs get one
    ssh_jump: str | None = None  # SSH to the fixed IPs through this host (a host spec)
    dns_nameservers: list[str] = field(default_factory=list)
    # IPv6 (--vmtp-ipv6-mode): an IPv6 subnet of this mode beside each IPv4 one the run makes,
    # and the VM flows to the IPv6 addresses; None: IPv4 only.
    ipv6_mode: str | None = value("ipv6_mode")
    ipv6_cidrs: tuple[str, str] = value("ipv6_cidrs")
    keep: bool = value("keep")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CloudSettings:
        """Build from a config mapping, ignoring keys that are not settings and None values."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known and v is not None}
        for key in ("cidrs", "ipv6_cidrs"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        for key in ("hypervisors", "networks", "dns_nameservers"):
            if key in kwargs:
                value = kwargs[key]
                kwargs[key] = [value] if isinstance(value, str) else list(value)
        for key in ("tcp_ports", "udp_ports"):
            if key in kwargs:
                kwargs[key] = tuple(tuple(r) for r in kwargs[key])
        for key in ("flow_sources", "ssh_sources"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)
