"""VMTP's YAML config files (its cfg.default.yaml keys) read as pytest-vmtp settings: the one table
of which VMTP key means which pytest-vmtp key (defaults.yaml), and how its value converts.

A key with an equivalent is translated; a key with none is a warning naming it and saying what
to do instead (keys left at VMTP's own default are named together in one line: they change
nothing); nothing is an error that VMTP itself accepted. Pure: config.py reads the files.

A file is read as VMTP's when it holds a key that only VMTP has (image_name, ssh_vm_username,
...), and ~/.vmtp.yaml always is (VMTP read it before the -c file, which the command line
overrides: defaults.yaml < ~/.vmtp.yaml < --vmtp-config < options here). In a VMTP file, keys
that only pytest-vmtp has are accepted too, and the two keys both have are VMTP's meaning
(`flavor` is VMTP's flavor attributes; `ping_count` VMTP's connectivity check).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

USER_FILE = "~/.vmtp.yaml"  # read by VMTP when present, before its -c file

# VMTP 2.5's cfg.default.yaml values: a key left at its VMTP default changes nothing.
VMTP_DEFAULTS: dict[str, Any] = {
    "image_name": "Ubuntu Server 14.04", "ssh_vm_username": "ubuntu", "flavor_type": "vmtp",
    "flavor": {"vcpus": 1, "ram": 2048, "disk": 0}, "availability_zone": None, "dns_nameservers": ["8.8.8.8"],
    "vm_image_url": "", "reuse_network_name": None, "floating_ip": True, "reuse_existing_vm": None,
    "config_drive": None, "user_data_file": None, "ipv6_mode": None, "router_name": "pns-router",
    "internal_network_name": ["pns-internal-net", "pns-internal-net2"],
    "internal_subnet_name": ["pns-internal-subnet", "pns-internal-subnet2"],
    "internal_subnet_name_v6": ["pns-internal-v6-subnet", "pns-internal-v6-subnet2"],
    "internal_cidr": ["192.168.1.0/24", "192.168.2.0/24"], "internal_cidr_v6": ["2001:45::/64", "2001:46::/64"],
    "public_key_file": None, "private_key_file": None, "public_key_name": "pns_public_key",
    "vm_name_server": "TestServer", "vm_name_client": "TestClient", "security_group_name": "pns-security",
    "ping_count": 2, "ping_pass_threshold": 80, "ssh_retry_count": 50, "generic_retry_count": 50,
    "tcp_tp_loop_count": 3, "tcp_pkt_sizes": [65536], "udp_pkt_sizes": [128, 1024, 8192],
    "icmp_pkt_sizes": [64, 391, 1500], "udp_loss_rate_range": [2, 5], "vm_bandwidth": 0,
    "os_dataplane_network": "physnet1", "vmtp_db": "client_db", "vmtp_collection": "pns_web_entry",
    "fluentd": {"logging_tag": None, "ip": "127.0.0.1", "port": 24224},
}

_SKIP = object()  # a converter's "nothing to set" (VMTP's empty value: its default behaviour)


def _same(value: Any) -> Any:
    return _SKIP if value is None or value == "" else value


def _networks(value: Any) -> Any:
    return _SKIP if not value else [value]


def _bandwidth(value: Any) -> Any:
    """VMTP's vm_bandwidth is kbit/s (0: no limit); pytest-vmtp's bandwidth takes 500M, 200K..."""
    if value in (None, "", 0, "0"):
        return _SKIP
    return f"{value}K"


def _bool(value: Any) -> Any:
    return _SKIP if value is None else value


@dataclass(frozen=True)
class VmtpKey:
    """One VMTP config key: the pytest-vmtp key it sets (None: no equivalent) and how."""

    vmtp: str
    ours: str | None
    convert: Callable[[Any], Any] = _same
    advice: str = ""  # without an equivalent: what to do instead


_NAMES = ("pytest-vmtp names what it makes vmtp-<run id>-... (so that vmtp-cleanup finds it) and reuses "
          "only what is named for reuse")

# The table. A key it maps onto that this version lacks is a warning saying so (translate).
KEYS: tuple[VmtpKey, ...] = (
    VmtpKey("image_name", "image"),
    VmtpKey("ssh_vm_username", "login_user"),
    VmtpKey("flavor_type", "flavor"),
    VmtpKey("flavor", "flavor"),  # VMTP's attributes: pytest-vmtp's flavor spec; see _flavor
    VmtpKey("availability_zone", "availability_zone"),
    VmtpKey("dns_nameservers", "dns_nameservers"),
    VmtpKey("vm_image_url", "vm_image_url"),
    VmtpKey("reuse_network_name", "networks", _networks),
    VmtpKey("floating_ip", "floating_ips", _bool),  # VMTP never read it; what it says is what users mean
    VmtpKey("ext_net_name", "external_network"),  # read by VMTP's code, not in its defaults file
    VmtpKey("config_drive", "config_drive", _bool),
    VmtpKey("user_data_file", "user_data"),
    VmtpKey("ipv6_mode", "ipv6_mode"),
    # VMTP set these from its flags (over the file's value); written in a file, what they say is meant.
    VmtpKey("no_dhcp", "dhcp", lambda v: _SKIP if v is None else not v),  # dhcp: false = no DHCP
    VmtpKey("vnic_type", "vnic_type"),
    VmtpKey("internal_cidr", "cidrs"),
    VmtpKey("internal_cidr_v6", "ipv6_cidrs"),  # used with ipv6_mode (VMTP: dual stack too)
    VmtpKey("tcp_tp_loop_count", "tcp_runs"),
    VmtpKey("tcp_pkt_sizes", "tcp_pkt_sizes"),
    VmtpKey("udp_pkt_sizes", "udp_pkt_sizes"),
    VmtpKey("icmp_pkt_sizes", "icmp_pkt_sizes"),
    VmtpKey("udp_loss_rate_range", "udp_loss_target"),
    VmtpKey("vm_bandwidth", "bandwidth", _bandwidth),
    VmtpKey("vmtp_mongod_port", "mongod_port"),
    VmtpKey("vmtp_db", "mongod_db"),
    VmtpKey("vmtp_collection", "mongod_collection"),
    # No equivalent:
    VmtpKey("router_name", None, advice=f"{_NAMES}; `router: NAME` attaches the run's networks to an "
                                         "existing router"),
    VmtpKey("internal_network_name", None, advice=f"{_NAMES}; `networks: [NAME]` (--vmtp-network) reuses "
                                                  "existing networks"),
    VmtpKey("internal_subnet_name", None, advice=_NAMES),
    VmtpKey("internal_subnet_name_v6", None, advice=_NAMES),
    VmtpKey("security_group_name", None, advice=f"{_NAMES}; `security_group: NAME` uses an existing one"),
    VmtpKey("public_key_name", None, advice="the run uploads a fresh key pair; `key_pair: NAME` with "
                                            "`private_key: PATH` uses an existing one"),
    VmtpKey("public_key_file", None, advice="the run makes a fresh key pair for the VMs; `key_pair:` with "
                                            "`private_key:` uses an existing one"),
    VmtpKey("private_key_file", None, advice="native and external hosts: add key=PATH to each --vmtp-host / "
                                             "--vmtp-external-host spec (or use the SSH agent)"),
    VmtpKey("vm_name_server", None, advice=_NAMES),
    VmtpKey("vm_name_client", None, advice=_NAMES),
    VmtpKey("reuse_existing_vm", None, advice="the run boots its own VMs (it can reuse networks, a router, "
                                              "a security group and a key pair)"),
    VmtpKey("vm_server_internal_ip", None, advice="goes with reuse_existing_vm"),
    VmtpKey("vm_client_internal_ip", None, advice="goes with reuse_existing_vm"),
    VmtpKey("vm_server_external_ip", None, advice="goes with reuse_existing_vm"),
    VmtpKey("vm_client_external_ip", None, advice="goes with reuse_existing_vm"),
    VmtpKey("ping_count", None, advice="VMTP's connectivity-check count, which VMTP never read (its ICMP rows "
                                       "sent 10 pings); pytest-vmtp's ping_count (pings per ICMP size) is "
                                       "--vmtp-ping-count"),
    VmtpKey("ping_pass_threshold", None, advice="a ping with no reply fails its row"),
    VmtpKey("ssh_retry_count", None, advice="pytest-vmtp waits ssh_timeout_s for a VM's SSH"),
    VmtpKey("generic_retry_count", None, advice="pytest-vmtp waits boot_timeout_s for a VM"),
    VmtpKey("os_dataplane_network", None, advice="it named the NIC VMTP read over SSH on the controller; "
                                                 "pytest-vmtp reads the deployment from the APIs"),
    VmtpKey("fluentd", None, advice="logs go to pytest's own logging (--log-file, --log-cli-level)"),
)
BY_KEY = {k.vmtp: k for k in KEYS}
VMTP_ONLY_MARKERS = frozenset(VMTP_DEFAULTS) | frozenset(BY_KEY)  # keys that make a file VMTP's


@dataclass
class Translation:
    settings: dict[str, Any] = field(default_factory=dict)  # pytest-vmtp keys
    warnings: list[str] = field(default_factory=list)  # one line each


def is_vmtp_file(keys: Iterable[str], ours: Iterable[str]) -> bool:
    """A file with any key that VMTP has and pytest-vmtp does not."""
    return bool(set(keys) & (VMTP_ONLY_MARKERS - set(ours)))


def translate(data: dict[str, Any], source: str, ours: Iterable[str]) -> Translation:
    """A VMTP config file's keys as pytest-vmtp settings; ours: defaults.yaml's keys. Keys of
    pytest-vmtp's own pass through; every other key is a warning."""
    known = set(ours)
    out = Translation()
    at_default: list[str] = []
    for key, value in data.items():
        entry = BY_KEY.get(key)
        if entry is None:
            if key in known:
                out.settings[key] = value
            else:
                out.warnings.append(f"{source}: {key!r} is neither a VMTP nor a pytest-vmtp key: ignored "
                                    "(see pytest_vmtp/defaults.yaml)")
            continue
        if entry.ours is None:
            if key in VMTP_DEFAULTS and value == VMTP_DEFAULTS[key] or value in (None, "", [], {}) \
                    or (key == "fluentd" and isinstance(value, dict) and not value.get("logging_tag")):
                at_default.append(key)
            else:
                out.warnings.append(f"{source}: VMTP key {key!r} has no equivalent in pytest-vmtp, ignored: "
                                    f"{entry.advice}")
            continue
        converted = entry.convert(value)
        if converted is _SKIP:
            continue
        if entry.ours not in known:
            out.warnings.append(f"{source}: VMTP key {key!r} means pytest-vmtp's {entry.ours!r}, which this "
                                "version does not have: ignored")
            continue
        out.settings[entry.ours] = converted
    _flavor(data, out)
    if at_default:
        out.warnings.append(f"{source}: VMTP keys at VMTP's defaults, with no equivalent (ignored, no effect): "
                            + ", ".join(at_default))
    return out


def _flavor(data: dict[str, Any], out: Translation) -> None:
    """flavor_type (a name) and flavor (VMTP's attributes for creating it when missing) are one
    pytest-vmtp setting: `flavor: NAME`, or with attributes `flavor: {name: NAME, vcpus: ...}`."""
    name, attrs = data.get("flavor_type"), data.get("flavor")
    if isinstance(attrs, dict) and "flavor" in out.settings:
        if attrs == VMTP_DEFAULTS["flavor"]:  # VMTP's own attributes: the name is what the file says
            if name:
                out.settings["flavor"] = name
            else:
                out.settings.pop("flavor")
        else:  # pytest-vmtp's flavor spec: a mapping with the name
            out.settings["flavor"] = {"name": name or VMTP_DEFAULTS["flavor_type"], **attrs}
    elif "flavor" in data and attrs is not None and not isinstance(attrs, dict):
        out.warnings.append("VMTP's flavor is a mapping of vcpus, ram, disk and extra_specs; "
                            f"{attrs!r} is ignored (flavor_type names the flavor)")
        if name:
            out.settings["flavor"] = name
        else:
            out.settings.pop("flavor", None)
