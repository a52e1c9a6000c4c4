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
SRIOV_VNIC_TYPES = ("direct", "macvtap")  # ports made first, with binding:vnic_type
MINIMAL_VMS = 2  # --vmtp-footprint minimal: the server VM and one client at a time


@dataclass(frozen=True)
class FlavorSpec:
    """A flavor to make when none has the configured name (VMTP's `flavor` keys)."""

    name: str
    vcpus: int
    ram: int  # MB
    disk: int  # GB
    extra_specs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, value: Any, base: FlavorSpec | None = None) -> FlavorSpec:
        """A name, or a mapping of name/vcpus/ram/disk/extra_specs over base (ValueError with
        the reason)."""
        fields_ = base.to_json() if base else {}
        if isinstance(value, str) and value.strip():
            return cls.from_json({**fields_, "name": value.strip()})
        if not isinstance(value, dict):
            raise ValueError("give a flavor name, or a mapping of name, vcpus, ram, disk, extra_specs")
        unknown = sorted(set(value) - {"name", "vcpus", "ram", "disk", "extra_specs"})
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}: use name, vcpus, ram, disk, extra_specs")
        merged = {**fields_, **{k: v for k, v in value.items() if v is not None}}
        for key, least in (("vcpus", 1), ("ram", 1), ("disk", 0)):
            number = merged.get(key)
            if isinstance(number, bool) or not isinstance(number, int) or number < least:
                raise ValueError(f"{key} {number!r}: a whole number of at least {least}")
        if not isinstance(merged.get("name"), str) or not merged["name"].strip():
            raise ValueError(f"name {merged.get('name')!r}: give a flavor name")
        specs = merged.get("extra_specs") or {}
        if not isinstance(specs, dict) or not all(
                isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in specs.items()):
            raise ValueError(f"extra_specs {specs!r}: a mapping of keys to values, e.g. "
                             "{hw:cpu_policy: dedicated}")
        merged["extra_specs"] = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in specs.items()}
        return cls.from_json(merged)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "vcpus": self.vcpus, "ram": self.ram, "disk": self.disk,
                "extra_specs": dict(self.extra_specs)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlavorSpec:
        return cls(str(data["name"]).strip(), int(data["vcpus"]), int(data["ram"]), int(data["disk"]),
                   tuple(sorted((str(k), str(v)) for k, v in (data.get("extra_specs") or {}).items())))


DEFAULT_FLAVOR = FlavorSpec.parse(value("flavor"))


@dataclass
class CloudSettings:
    """Defaults of the keys defaults.yaml has come from it (pytest_vmtp.defaults)."""

    image: str = value("image")  # Glance image name or id
    image_url: str | None = None  # upload the image from here when it is missing (vm_image_url)
    delete_image_after_run: bool = value("delete_image_after_run")
    flavor: str = DEFAULT_FLAVOR.name  # Nova flavor name or id (defaults.yaml's flavor.name)
    flavor_spec: FlavorSpec = DEFAULT_FLAVOR  # made from this when no flavor has that name
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
    vnic_type: str = value("vnic_type")  # normal | direct | macvtap
    config_drive: bool = value("config_drive")
    user_data: str | None = None  # a file passed as every VM's user_data
    dhcp: bool = value("dhcp")  # False: the run's subnets have no DHCP (the config drive has the addresses)
    footprint: str = value("footprint")  # fast | minimal
    # Scale mode boots many VMs: on the local cloud, whose admin the run is, the quotas it
    # lacks are raised instead of refusing the run (quotas.raise_to_fit).
    raise_quota: bool = False

    @property
    def minimal(self) -> bool:
        return self.footprint == "minimal"

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CloudSettings:
        """Build from a config mapping, ignoring keys that are not settings and None values."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known and v is not None}
        if "flavor_spec" in kwargs and isinstance(kwargs["flavor_spec"], dict):
            kwargs["flavor_spec"] = FlavorSpec.from_json(kwargs["flavor_spec"])
        if isinstance(kwargs.get("flavor"), dict):  # the config's mapping: name + spec
            spec = FlavorSpec.parse(kwargs["flavor"], DEFAULT_FLAVOR)
            kwargs["flavor"], kwargs["flavor_spec"] = spec.name, spec
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
