"""iperf 2 command lines (`-y C` CSV) and the reading of their output.

UDP loss is known only to the receiver: for forward UDP runs it is read from the server's
own CSV report, which is why parse() gets the server's log.
"""

from __future__ import annotations

import shlex

from . import validate
from .errors import MeasureError
from .iperf_options import shared_client_options
from .parse_iperf2 import _rows, parse_iperf2_csv
from .probe import RunOutcome, RunSpec
from .runner import CommandResult
from .settings import MeasureSettings


class Iperf2:
    binary = "iperf"
    version_command = "iperf -v 2>&1"

    def __init__(self, settings: MeasureSettings, version: str = "iperf") -> None:
        self.settings = settings
        self.version = version

    def server_command(self, protocol: str, ipv6: bool = False) -> str:
        # -V: an IPv6 server, as VMTP's ipv6_mode ran it (without it iperf 2 listens on IPv4).
        udp = " -u" if protocol == "UDP" else ""
        return f"iperf -s{udp}{' -V' if ipv6 else ''} -p {self._port()} -y C"

    def _port(self) -> int:
        return validate.port(self.settings.iperf_port, "iperf_port")

    def listen_port(self, protocol: str) -> tuple[int, str]:
        return self._port(), "udp" if protocol == "UDP" else "tcp"

    def client_command(self, spec: RunSpec) -> str:
        spec = validate.run_spec(spec)
        if spec.protocol == "Multicast":
            raise MeasureError("this engine measures multicast with nuttcp only")
        six = " -V" if validate.is_ipv6(spec.dest_ip) else ""
        args = [f"iperf -c {shlex.quote(spec.dest_ip)}{six} -p {self._port()}",
                f"-t {spec.duration_s:g} -y C", *shared_client_options(spec, 1_000_000)]
        return " ".join(args)

    def server_rows(self, server_log: str) -> int:
        return len(_rows(server_log))

    def parse(self, spec: RunSpec, client: CommandResult, server_log: str) -> RunOutcome:
        mine = parse_iperf2_csv(client.stdout, client.stderr)
        if spec.protocol != "UDP":
            return RunOutcome(mine.throughput_kbps)
        if mine.loss_rate is not None:  # receiver-side report (reverse runs)
            return RunOutcome(mine.throughput_kbps, mine.loss_rate, jitter_ms=mine.jitter_ms,
                              rx_bytes=mine.bytes)
        if not self.server_rows(server_log):
            # iperf 2's server reports a UDP test only when its datagrams arrived.
            raise MeasureError("iperf: the receiving server wrote no report of this run: no "
                               "datagram arrived, or it lost track of the test")
        server = parse_iperf2_csv(server_log)
        return RunOutcome(server.throughput_kbps, server.loss_rate, jitter_ms=server.jitter_ms,
                          rx_bytes=server.bytes)
