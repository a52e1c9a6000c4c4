"""nuttcp command lines (VMTP's default tool) and the reading of their output."""

from __future__ import annotations

import ipaddress
import shlex

from . import validate
from .errors import MeasureError
from .parse_nuttcp import parse_nuttcp_fparse, parse_nuttcp_verbose
from .probe import RunOutcome, RunSpec
from .runner import CommandResult
from .settings import MeasureSettings

# What a multicast run needs of nuttcp, on both ends (a newer client refuses the options when
# the server is older: "multicast group option not supported by server version 6.1.2, need >=
# 7.2.1"). Debian 12 ships 6.1.2, which sends to a group of its own choosing (231 and the low
# three bytes of the transmitter's address) and has no jitter.
GROUP_SINCE = (7, 2, 1)  # -g<group>
JITTER_SINCE = (7, 0, 1)  # -j
NUTTCP_GROUPS = ipaddress.ip_network("231.0.0.0/8")  # nuttcp's only any-source groups


def version_numbers(version: str) -> tuple[int, ...] | None:
    """"nuttcp-6.1.2" -> (6, 1, 2); None when the version is unknown."""
    try:
        return tuple(int(n) for n in version.split("-")[1].split("."))
    except (IndexError, ValueError):
        return None


def supports(version: str, since: tuple[int, ...]) -> bool:
    numbers = version_numbers(version)
    return numbers is not None and numbers >= since


class Nuttcp:
    binary = "nuttcp"
    version_command = "nuttcp -V 2>&1"
    jitter_kind = "max"  # -j: the largest deviation of one datagram's spacing, as VMTP reported

    def __init__(self, settings: MeasureSettings, version: str = "nuttcp-8",
                 multicast_group: bool | None = None) -> None:
        """multicast_group: whether both ends take -g and -j (None: judge by this version)."""
        self.settings = settings
        self.version = version
        self.multicast_options = (supports(version, GROUP_SINCE) if multicast_group is None
                                  else multicast_group)

    @property
    def counts_retransmissions(self) -> bool:
        """nuttcp before 6.2.9 reads no retransmissions on current Linux kernels: it prints
        retrans=0 however many there were (6.2.9: "make retrans info reporting work again on
        newer Linux distros"). Debian 12 ships 6.1.2."""
        numbers = version_numbers(self.version)
        return numbers is None or numbers >= (6, 2, 9)

    def server_command(self, protocol: str, ipv6: bool = False) -> str:
        # --nofork keeps the server in the foreground, so stopping the started process stops it.
        # -6: an IPv6 server (it then takes IPv6 clients only), as VMTP's ipv6_mode ran it.
        control, data = self._ports()
        return f"nuttcp -S{' -6' if ipv6 else ''} -P{control} -p{data} --nofork"

    def _ports(self) -> tuple[int, int]:
        s = self.settings
        return (validate.port(s.nuttcp_control_port, "nuttcp_control_port"),
                validate.port(s.nuttcp_data_port, "nuttcp_data_port"))

    def listen_port(self, protocol: str) -> tuple[int, str]:
        return self._ports()[0], "tcp"

    def client_command(self, spec: RunSpec) -> str:
        spec = validate.run_spec(spec)
        s = self.settings
        control, data = self._ports()
        args = ["nuttcp"] + (["-v"] if spec.protocol == "Multicast" else [])  # -v: the receiver names its group
        args += [f"-T{spec.duration_s:g} -p{data} -P{control}", "-fparse"]
        if validate.is_ipv6(spec.dest_ip):
            args.append("-6")
        if spec.protocol in ("UDP", "Multicast"):
            args.append("-u")
        if spec.protocol == "Multicast":
            # VMTP's -m32 -o -j -g<group>; nuttcp before 7.2.1 has neither -g nor -j (it picks
            # its own group; flows.py records which and says so).
            args.append("-m32")
            if self.multicast_options:
                group = nuttcp_group(spec.multicast_group or s.multicast_group, self.version)
                args += ["-o", "-j", f"-g{shlex.quote(group)}"]
        if spec.pkt_size:
            args.append(f"-l{spec.pkt_size}")
        if spec.rate_kbps:
            args.append(f"-R{spec.rate_kbps}K")
        if spec.buffer:
            args.append(f"-w{shlex.quote(spec.buffer)}")
        if spec.reverse:
            # -F (the server opens the data connection, through NAT like VMTP) is TCP-only:
            # nuttcp refuses it for UDP, where plain -r already makes the server send.
            args.append("-F -r" if spec.protocol == "TCP" else "-r")
        args.append(shlex.quote(spec.dest_ip))
        return " ".join(args)

    def parse(self, spec: RunSpec, client: CommandResult, server_log: str) -> RunOutcome:
        if spec.protocol == "Multicast":
            report = parse_nuttcp_verbose(client.output)
            return RunOutcome(
                throughput_kbps=report.throughput_kbps, loss_rate=report.loss_rate,
                jitter_ms=report.jitter_ms, rx_bytes=round(report.megabytes * 1024 * 1024),
                multicast_group=report.multicast_group,
            )
        report = parse_nuttcp_fparse(client.output)
        if spec.protocol == "TCP" and report.megabytes == 0 and not client.ok:
            raise MeasureError(f"nuttcp exited {client.exit_code} without data")
        return RunOutcome(
            throughput_kbps=report.throughput_kbps,
            loss_rate=report.loss_rate,
            rtt_ms=report.rtt_ms if spec.protocol == "TCP" else None,
            retrans=report.retrans if spec.protocol == "TCP" and self.counts_retransmissions else None,
            jitter_ms=report.jitter_ms,
            cpu_tx=report.tx_cpu,
            cpu_rx=report.rx_cpu,
            # -fparse gives the receiver's figures, also with -r; megabytes are MiB.
            rx_bytes=round(report.megabytes * 1024 * 1024) if spec.protocol != "TCP" else None,
        )


def nuttcp_group(group: str | None, version: str) -> str:
    """The group for nuttcp's -g: nuttcp sends IPv4 any-source multicast to 231.x.y.z only."""
    group = validate.multicast_group(group)
    address = ipaddress.ip_address(group.partition("%")[0])
    if address.version == 4 and address not in NUTTCP_GROUPS:
        raise MeasureError(f"multicast group {group}: {version} sends only to 231.x.y.z groups: "
                           "pick one (multicast_group), or multicast_tool: iperf")
    return group
