"""The --vmtp-* command-line options: one table, read by the hooks (pytest_addoption) and by
the configuration (which option overrides which defaults.yaml key).

Importing this module costs nothing: the defaults shown in `pytest --help` are read from
defaults.yaml only when the help text is printed (see DefaultHelp).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_vmtp.catalogue import FOOTPRINTS, IPV6_MODES, TOOLS, VNIC_TYPES

if TYPE_CHECKING:
    import argparse

    import pytest


class DefaultHelp(str):
    """A help text that appends its setting's default from defaults.yaml when argparse formats
    it (argparse expands help with `help % params`), so that every pytest run does not pay for
    reading YAML just in case --help is asked for."""

    key: str

    def __new__(cls, text: str, key: str) -> DefaultHelp:
        obj = super().__new__(cls, text)
        obj.key = key
        return obj

    def __mod__(self, params: Any) -> str:
        from pytest_vmtp.config import describe_default

        return str.__mod__(f"{self} (default: {describe_default(self.key)})", params)


@dataclass(frozen=True)
class Option:
    flag: str  # "--vmtp-time"
    help: str
    key: str | None = None  # the defaults.yaml key it overrides; None: not a setting
    metavar: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)  # action, type, choices
    show_default: bool = True  # append the key's default from defaults.yaml to the help

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option("--vmtp-cloud", "clouds.yaml entry to test ('local' starts the local cloud and runs as its "
           "admin, 'local-member' as a member of its project demo)", "cloud", "NAME"),
    Option("--vmtp-config", "YAML file overriding pytest_vmtp/defaults.yaml", None, "FILE"),
    Option("--vmtp-host", "native host user@host[:port][,key=PATH][,password_env=VAR][,agent=yes|no]"
           "[,listen=IFNAME|ADDRESS][,jump=user@host][,known_hosts=PATH][,hostkey=accept-new] (VMTP's "
           "user@host::IFNAME too); once: intra-host; twice: intra-host (on the first) and inter-host",
           "hosts", "SPEC", {"action": "append"}),
    Option("--vmtp-no-intra-host", "with two --vmtp-host, measure inter-host only (VMTP's --inter-node-only)",
           "native_intra_host", None, {"action": "store_const", "const": False}, show_default=False),
    Option("--vmtp-external-host", "external host for 8.1/8.2: 'local' (this machine) or user@host[,key=PATH]",
           "external_host", "SPEC"),
    Option("--vmtp-accept-new-host-keys", "accept unknown SSH host keys of --vmtp-host/--vmtp-external-host "
           "hosts and add them to known_hosts (a changed key is always refused)", "accept_new_host_keys", None,
           {"action": "store_true", "default": None}),
    Option("--vmtp-tool", "throughput tool", "tool", None, {"choices": TOOLS}),
    Option("--vmtp-protocols", "T=TCP U=UDP I=ICMP M=multicast; rows of the others are skipped", "protocols",
           "TUIM"),
    Option("--vmtp-multicast-group", "multicast group of the x.4 rows (VMTP's --multicast_addr; "
           "nuttcp takes 231.x.y.z only)", "multicast_group", "ADDR"),
    Option("--vmtp-time", "seconds per throughput test", "duration_s", "SEC", {"type": int}),
    Option("--vmtp-pairs", "scale mode: client/server pairs each VM-to-VM TCP/UDP row measures at once "
           "(aggregate and per-pair figures); with --vmtp-progression its largest step", "pairs", "N",
           {"type": int}),
    Option("--vmtp-progression", "re-run each scaled row with 1, 2, 3 ... (linear) or 1, 2, 4 ... (quadratic) "
           "pairs up to --vmtp-pairs, stopping at the first step that breaks an SLA", "progression", None,
           {"choices": ("linear", "quadratic")}),
    Option("--vmtp-bandwidth", "rate cap, e.g. 500M; none: search the UDP rate whose loss is in "
           "udp_loss_target", "bandwidth", "RATE"),
    Option("--vmtp-tcp-pkt-sizes", "TCP message sizes, comma-separated", "tcp_pkt_sizes", "LIST"),
    Option("--vmtp-udp-pkt-sizes", "UDP packet sizes, comma-separated", "udp_pkt_sizes", "LIST"),
    Option("--vmtp-icmp-pkt-sizes", "ping payload sizes, comma-separated", "icmp_pkt_sizes", "LIST"),
    Option("--vmtp-ping-count", "pings per size", "ping_count", "N", {"type": int}),
    Option("--vmtp-image", "Glance image of the test VMs", "image", "NAME"),
    Option("--vmtp-image-url", "upload the image from this http(s):// or file:// URL or file when no "
           "image has its name (VMTP's vm_image_url)", "vm_image_url", "URL|PATH"),
    Option("--vmtp-flavor", "Nova flavor of the test VMs; made from the config's flavor spec when missing, "
           "and deleted after the run", "flavor", "NAME"),
    Option("--vmtp-vnic-type", "vNIC type of the test VMs' ports: direct and macvtap (SR-IOV) ports are made "
           "first with binding:vnic_type", "vnic_type", None, {"choices": VNIC_TYPES}),
    Option("--vmtp-config-drive", "boot the test VMs with a config drive", "config_drive", None,
           {"action": "store_const", "const": True}, show_default=False),
    Option("--vmtp-user-data", "pass this file to every test VM as its user data", "user_data", "FILE"),
    Option("--vmtp-no-dhcp", "no DHCP on the subnets the run makes: the VMs take their addresses from the "
           "config drive (turned on)", "dhcp", None, {"action": "store_const", "const": False},
           show_default=False),
    Option("--vmtp-footprint", "fast: boot every VM at once; minimal: at most two VMs and two floating IPs "
           "at a time (small quotas)", "footprint", None, {"choices": FOOTPRINTS}),
    Option("--vmtp-external-network", "external network for the router and floating IPs", "external_network",
           "NAME"),
    Option("--vmtp-hypervisor", "compute host for the server VM, then for the inter-node client VM "
           "(without AZ: the zone Nova has the host in)", "hypervisors", "[AZ:]HOST", {"action": "append"}),
    Option("--vmtp-availability-zone", "place the VMs on hosts of this availability zone only",
           "availability_zone", "AZ"),
    Option("--vmtp-network", "use this existing network (e.g. a provider network) instead of making one; "
           "once: network 1 (the different-network rows skip), twice: networks 1 and 2", "networks", "NAME",
           {"action": "append"}),
    Option("--vmtp-no-floating-ip", "no floating IPs: SSH to the VMs' fixed IPs (directly or through "
           "--vmtp-ssh-jump); the NAT rows (5.x, 6.x, 8.x) skip", "floating_ips", None,
           {"action": "store_const", "const": False}, show_default=False),
    Option("--vmtp-ssh-jump", "reach the VMs' fixed IPs over SSH through this host: "
           "user@host[:port][,key=PATH][,known_hosts=PATH][,hostkey=accept-new]", "ssh_jump", "SPEC"),
    Option("--vmtp-ipv6-mode", "measure over IPv6: the run's networks get an IPv6 subnet of this mode "
           "beside the IPv4 one (SSH stays on IPv4); the floating-IP and external rows skip", "ipv6_mode",
           None, {"choices": IPV6_MODES}),
    Option("--vmtp-dns-nameservers", "DNS servers of the subnets the run makes, comma-separated",
           "dns_nameservers", "LIST"),
    Option("--vmtp-gmond", "read host CPU load from this Ganglia gmond during each throughput test "
           "(repeatable; default port 8649; on the local cloud its hosts' gmonds are found by themselves)",
           "gmond", "HOST[:PORT]", {"action": "append"}),
    Option("--vmtp-keep", "keep the cloud resources after the run", "keep", None,
           {"action": "store_true", "default": None}),
    Option("--vmtp-json", "write VMTP-compatible JSON results to PATH", "json", "PATH"),
    Option("--vmtp-description", "test_description recorded in the JSON file", "description", "TEXT"),
    Option("--vmtp-history", "store the run in this history: a SQLite file, or "
           "postgresql://USER:PASSWORD@HOST[:PORT]/DB for a team server", "history", "PATH|URL"),
    Option("--vmtp-no-history", "do not store the run in the history", "history", None,
           {"action": "store_const", "const": False}, show_default=False),
    Option("--vmtp-tag", "tag the run in the history, e.g. pre-upgrade (repeatable)", "tags", "TAG",
           {"action": "append"}),
    Option("--vmtp-mongod-server", "also insert the results into VMTP's MongoDB (client_db.pns_web_entry)",
           "mongod_server", "HOST[:PORT]"),
    Option("--vmtp-baseline", "gate on a baseline: a results JSON file, or a stored run: last, a run id, "
           "tag:NAME; a row whose figures got worse past the thresholds of gate: in the config FAILS",
           "baseline", "SOURCE"),
    Option("--vmtp-show-config", "print the effective configuration (defaults + --vmtp-config + options) and exit",
           None, None, {"action": "store_true"}),
)


def add_options(group: pytest.OptionGroup) -> None:
    """Add every option to a pytest OptionGroup."""
    for opt in OPTIONS:
        kwargs = dict(opt.kwargs)
        if opt.metavar:
            kwargs["metavar"] = opt.metavar
        help_text = DefaultHelp(opt.help, opt.key) if opt.key and opt.show_default else opt.help
        group.addoption(opt.flag, dest=opt.dest, help=help_text, **kwargs)


def given(option: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line, by defaults.yaml key (absent: not given). Of two
    options of one key (--vmtp-history, --vmtp-no-history) the later in OPTIONS wins."""
    values = ((opt.key, getattr(option, opt.dest, None)) for opt in OPTIONS if opt.key)
    return {k: v for k, v in values if v is not None}


def any_given(option: argparse.Namespace) -> bool:
    """True when any --vmtp-* option was given: the plugin then starts at once."""
    values = (getattr(option, opt.dest, None) for opt in OPTIONS)
    return any(v is not None and v is not False for v in values)
