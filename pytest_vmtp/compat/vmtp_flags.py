"""VMTP's command-line flags (its vmtp.py argparse, same spellings) and what each becomes in a
pytest run of the scenarios: the one table the `vmtp` command reads. Pure.

A flag becomes pytest-vmtp options (`-t 5` -> `--vmtp-time 5`), marker expressions
(`--inter-node-only` -> `-m "not intra_node"`) or pytest's own options (`-d` -> `-v`); a flag
that cannot be honoured is refused with the reason and what to do instead. None is ignored:
an unknown flag is an error too (VMTP's argparse ignored unknown arguments). Arguments after
`--` go to pytest as they are.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Flag:
    names: tuple[str, ...]  # VMTP's spellings, e.g. ("-t", "--time")
    dest: str
    metavar: str | None  # None: a switch
    help: str
    to: tuple[str, ...] = ()  # pytest arguments; with a value, the value follows the last one
    markers: tuple[str, ...] = ()  # marker expressions, and-ed into one -m
    refuse: str | None = None  # why it cannot be honoured, and what to do instead
    repeat: bool = False  # may be given more than once (each becomes its own option)
    vmtp: bool = True  # False: this command's own (not in VMTP)


_PASSWORD = ("a password on the command line is seen by every user of this machine (ps) and kept in shell "
             "history: export OS_PASSWORD, or keep it in the openrc")
_CONTROLLER = ("VMTP read the controller's distro, release and NIC over SSH; pytest-vmtp reads the L2 agent "
               "type and the OpenStack release from the APIs (l2agent_type, openstack_version in the JSON)")

FLAGS: tuple[Flag, ...] = (
    Flag(("-c", "--config"), "config", "<config_file>", "VMTP's (or pytest-vmtp's) YAML config file",
         to=("--vmtp-config",)),
    Flag(("-sc", "--show-config"), "show_config", None, "print the effective config and exit",
         to=("--vmtp-show-config",)),
    Flag(("-r", "--rc"), "rc", "<openrc_file>", "source OpenStack credentials from an openrc file "
         "(run by bash; no password prompt: export OS_PASSWORD when it asks for one)"),
    Flag(("-m", "--monitor"), "monitor", "<gmond_ip>[:<port>]", "CPU monitoring with Ganglia",
         refuse="give the gmond servers in the -c config file (gmond: [HOST:PORT, ...])"),
    Flag(("-p", "--password"), "passwd", "<password>", "OpenStack password", refuse=_PASSWORD),
    Flag(("-t", "--time"), "time", "<time>", "throughput test duration in seconds (default 10)",
         to=("--vmtp-time",)),
    Flag(("--host",), "hosts", "<user>@<host_ssh_ip>[::<server-listen-if-name>][,key=PATH|,password_env=VAR]",
         "native host (once: intra-host; twice: intra- and inter-host); a password in it is refused",
         to=("--vmtp-host",), repeat=True),
    Flag(("--external-host",), "ext_host", "<user>@<host_ssh_ip>[,key=PATH|,password_env=VAR]",
         "external host for VM to host upload/download", to=("--vmtp-external-host",)),
    Flag(("--controller-node",), "controller_node", "<user>@<host_ssh_ip>", "controller node over SSH",
         refuse=_CONTROLLER),
    Flag(("--mongod-server",), "mongod_server", "<server ip>", "MongoDB server to store the results in",
         to=("--vmtp-mongod-server",)),
    Flag(("--json",), "json", "<file>", "store the results in a JSON file", to=("--vmtp-json",)),
    Flag(("--tp-tool",), "tp_tool", "<nuttcp|iperf|iperf3>", "throughput tool (default nuttcp)",
         to=("--vmtp-tool",)),
    Flag(("--availability_zone",), "availability_zone", "<availability_zone>", "availability zone of the VMs",
         to=("--vmtp-availability-zone",)),
    Flag(("--hypervisor",), "hypervisors", "[<az>:]<hostname>", "compute host (server's, then the client's)",
         to=("--vmtp-hypervisor",), repeat=True),
    Flag(("--inter-node-only",), "inter_node_only", None, "only measure inter-node (and inter-host)",
         to=("--vmtp-no-intra-host",), markers=("not intra_node",)),
    Flag(("--same-network-only",), "same_network_only", None, "only measure on one network "
         "(rows 3.x-6.x are not run; 8.x still use the floating IP)", markers=("not different_network",)),
    Flag(("--protocols",), "protocols", "<T|U|I|M>", "protocols: T(TCP) U(UDP) I(ICMP) M(Multicast)",
         to=("--vmtp-protocols",)),
    Flag(("--multicast_addr",), "multicast_addr", "<multicast_address>", "multicast group (adds M to --protocols, "
         "as VMTP)", to=("--vmtp-multicast-group",)),
    Flag(("--bandwidth",), "vm_bandwidth", "<bandwidth>", "rate cap for TCP/UDP, e.g. 128K, 32M, 5G",
         to=("--vmtp-bandwidth",)),
    Flag(("--tcpbuf",), "tcp_pkt_sizes", "<tcp_pkt_size1,...>", "TCP message sizes", to=("--vmtp-tcp-pkt-sizes",)),
    Flag(("--udpbuf",), "udp_pkt_sizes", "<udp_pkt_size1,...>", "UDP packet sizes", to=("--vmtp-udp-pkt-sizes",)),
    Flag(("--icmp_pkt_sizes",), "icmp_pkt_sizes", "<icmp_pkt_size1,...>", "ping payload sizes",
         to=("--vmtp-icmp-pkt-sizes",)),
    Flag(("--reuse_network_name",), "reuse_network_name", "<network_name>", "existing network to test on",
         to=("--vmtp-network",)),
    Flag(("--os-dataplane-network",), "os_dataplane_network", "<network_name>", "physical network name",
         refuse=f"it named the NIC VMTP read on the controller; {_CONTROLLER}"),
    Flag(("--delete-image-after-run",), "delete_image_after_run", None, "delete the image the run uploaded",
         refuse="give the image's settings in the -c config file (see pytest_vmtp/defaults.yaml)"),
    Flag(("--no-env",), "no_env", None, "do not read OS_* variables from the environment"),
    Flag(("--vnic-type",), "vnic_type", "<direct|macvtap|normal>", "binding:vnic_type of the VMs' ports",
         to=("--vmtp-vnic-type",)),
    Flag(("--no-dhcp",), "no_dhcp", None, "subnets without DHCP", to=("--vmtp-no-dhcp",)),
    Flag(("--no-floatingip",), "no_floatingip", None, "no floating IPs", to=("--vmtp-no-floating-ip",)),
    Flag(("--use-config-drive",), "config_drive", None, "boot the VMs with a config drive",
         to=("--vmtp-config-drive",)),
    Flag(("-d", "--debug"), "debug", None, "verbose", to=("-v",)),
    Flag(("-v", "--version"), "version", None, "print the version and exit"),  # (the command does)
    Flag(("--stop-on-error",), "stop_on_error", None, "stop at the first failed row and keep the cloud "
         "resources (as VMTP: clean up by hand, with vmtp-cleanup)", to=("-x", "--vmtp-keep")),
    Flag(("--keep-first-flow-and-exit",), "keep_first_flow_and_exit", None, "run the first flow, keep everything",
         refuse="select the row and keep the resources: vmtp ... -- -k 1.1 --vmtp-keep"),
    Flag(("--vm-image-url",), "vm_image_url", "<url_to_image>", "image to upload when missing",
         to=("--vmtp-image-url",)),
    Flag(("--test-description",), "test_description", "<test_description>", "description stored in the JSON",
         to=("--vmtp-description",)),
    Flag(("--log-file", "--logfile"), "logfile", "<log_file>", "write the run's log to this file",
         to=("--log-file-level=INFO", "--log-file")),
    # VMTP had ipv6_mode as a config key only; the flag is this command's.
    Flag(("--ipv6-mode",), "ipv6_mode", "<slaac|dhcpv6-stateless|dhcpv6-stateful>", "IPv6 subnets",
         to=("--vmtp-ipv6-mode",), vmtp=False),
    Flag(("--cloud",), "cloud", "<clouds.yaml entry|local>", "a clouds.yaml entry instead of an openrc ('local': "
         "the local cloud)", to=("--vmtp-cloud",), vmtp=False),
)
BY_DEST = {f.dest: f for f in FLAGS}


class FlagError(ValueError):
    """A flag that cannot be honoured, or a bad combination; str() is the one line to show."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vmtp", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="VMTP's command line, run as pytest-vmtp scenarios (pytest --pyargs pytest_vmtp.scenarios) "
                    "and reported as VMTP did: its summary table, its JSON file.",
        epilog="Arguments after -- go to pytest as they are (e.g. -- -k 1.3 -n 2).")
    for flag in FLAGS:
        kwargs: dict[str, Any] = {"dest": flag.dest, "help": flag.help + (" [refused here]" if flag.refuse else "")}
        if flag.metavar is None:
            kwargs["action"] = "store_true"
        else:
            kwargs["metavar"] = flag.metavar
            if flag.repeat:
                kwargs["action"] = "append"
        p.add_argument(*flag.names, **kwargs)
    return p


@dataclass
class Translated:
    pytest_args: list[str]  # the flags' pytest arguments (no -m, no credentials)
    markers: list[str]  # marker expressions, to be and-ed into one -m
    rest: list[str]  # the arguments after --, for pytest as they are
    opts: argparse.Namespace

    def argv(self, markers: list[str] | None = None) -> list[str]:
        """pytest's arguments: the flags', one -m of every marker expression, then the rest."""
        every = self.markers + list(markers or [])
        marker_args = ["-m", " and ".join(f"({m})" if len(every) > 1 else m for m in every)] if every else []
        return [*self.pytest_args, *marker_args, *self.rest]


def translate(argv: list[str], known_options: set[str] | None = None) -> Translated:
    """VMTP's arguments -> pytest's (arguments after -- appended as they are). FlagError for a
    refused flag or one whose pytest-vmtp option this version lacks (known_options: the
    --vmtp-* options there are; None: not checked); SystemExit(2) from argparse for unknown ones."""
    own, sep, rest = _split(argv)
    opts = parser().parse_args(own)
    if opts.multicast_addr and "M" not in (opts.protocols or "TUI").upper():
        opts.protocols = (opts.protocols or "TUI") + "M"  # VMTP: a group given means multicast rows
    args: list[str] = []
    markers: list[str] = []
    for flag in FLAGS:
        value = getattr(opts, flag.dest)
        if value in (None, False, []):
            continue
        if flag.refuse:
            raise FlagError(f"{flag.names[-1]}: not supported by this command: {flag.refuse}")
        missing = [t for t in flag.to if t.startswith("--vmtp-") and known_options is not None
                   and t not in known_options]
        if missing:
            raise FlagError(f"{flag.names[-1]}: this pytest-vmtp has no {missing[0]} yet")
        markers += flag.markers
        if flag.metavar is None:
            args += flag.to
        elif flag.to:
            for item in value if flag.repeat else [value]:
                args += [*flag.to, str(item)]
    return Translated(args, markers, rest if sep else [], opts)


def _split(argv: list[str]) -> tuple[list[str], bool, list[str]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], True, argv[i + 1:]
    return list(argv), False, []
