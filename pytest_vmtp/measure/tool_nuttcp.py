"""nuttcp command lines (VMTP's default tool) and the reading of their output."""

from __future__ import annotations

import shlex

from . import validate
from .errors import MeasureError
from .parse_nuttcp import parse_nuttcp_fparse
from .probe import RunOutcome, RunSpec
from .runner import CommandResult
from .settings import MeasureSettings


class Nuttcp:
    binary = "nuttcp"
    version_command = "nuttcp -V 2>&1"

    def __init__(self, settings: MeasureSettings, version: str = "nuttcp-8") -> None:
        self.settings = settings
        self.version = version

    @property
    def _major(self) -> int:
        try:
            return int(self.version.split("-")[1].split(".")[0])
        except (IndexError, ValueError):
            return 8

    @property
    def counts_retransmissions(self) -> bool:
        """nuttcp before 6.2.9 reads no retransmissions on current Linux kernels: it prints
        retrans=0 however many there were (6.2.9: "make retrans info reporting work again on
        newer Linux distros"). Debian 12 ships 6.1.2."""
        try:
            numbers = tuple(int(n) for n in self.version.split("-")[1].split("."))
        except (IndexError, ValueError):
            return True
        return numbers >= (6, 2, 9)

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
        args = [f"nuttcp -T{spec.duration_s:g} -p{data} -P{control}", "-fparse"]
        if validate.is_ipv6(spec.dest_ip):
            args.append("-6")
        if spec.protocol in ("UDP", "Multicast"):
            args.append("-u")
        if spec.protocol == "Multicast":
            # nuttcp 7+ takes the group (-g) and jitter/one-way options; 6.x picks its group.
            args.append("-m32")
            if self._major >= 7:
                group = validate.multicast_group(spec.multicast_group or s.multicast_group)
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
