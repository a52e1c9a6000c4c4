"""iperf 2 command lines (`-y C` CSV) and the reading of their output.

UDP loss is known only to the receiver: for forward UDP and multicast runs it is read from the
server's own CSV report, which is why parse() gets the server's log. iperf 2 is also the
multicast tool where nuttcp cannot send to a chosen group (nuttcp before 7.2.1, Debian 12's
6.1.2): its server joins the group (-B), its client sends to it with a TTL (-T), and the server
reports jitter.
"""

from __future__ import annotations

import shlex

from . import validate
from .errors import MeasureError
from .iperf_options import shared_client_options
from .parse_iperf2 import multicast_report, parse_iperf2_csv, server_report_done
from .probe import RunOutcome, RunSpec
from .runner import CommandResult
from .settings import MeasureSettings

MULTICAST_TTL = 32  # as VMTP's nuttcp -m32
# The receiving server's read buffer: iperf 2's server reads UDP with 1470-byte buffers unless
# told otherwise, so an 8192-byte datagram counted as 1470 bytes (a fifth of the throughput).
UDP_READ_LEN = 65507  # the largest UDP payload over IPv4
REPORT_INTERVAL_S = 0.5  # multicast: the server's jitter is read at each of these


class Iperf2:
    binary = "iperf"
    version_command = "iperf -v 2>&1"
    # iperf 2's jitter is RFC 3550's running estimate; the largest of its values at each report
    # interval is the closest to VMTP's max jitter (nuttcp's largest single deviation).
    jitter_kind = "max-interval"
    multicast_options = True  # any group, jitter: every iperf 2

    def __init__(self, settings: MeasureSettings, version: str = "iperf") -> None:
        self.settings = settings
        self.version = version

    def server_command(self, protocol: str, ipv6: bool = False) -> str:
        # -V: an IPv6 server, as VMTP's ipv6_mode ran it (without it iperf 2 listens on IPv4).
        if protocol == "Multicast":
            group = validate.multicast_group(self.settings.multicast_group)
            return (f"iperf -s -u -B {shlex.quote(group)}{' -V' if ipv6 else ''} -p {self._port()} "
                    f"-l {UDP_READ_LEN} -i {REPORT_INTERVAL_S:g} -y C")
        udp = f" -u -l {UDP_READ_LEN}" if protocol == "UDP" else ""
        return f"iperf -s{udp}{' -V' if ipv6 else ''} -p {self._port()} -y C"

    def _port(self) -> int:
        return validate.port(self.settings.iperf_port, "iperf_port")

    def listen_port(self, protocol: str) -> tuple[int, str]:
        return self._port(), "udp" if protocol in ("UDP", "Multicast") else "tcp"

    def client_command(self, spec: RunSpec) -> str:
        spec = validate.run_spec(spec)
        if spec.protocol == "Multicast":
            group = validate.multicast_group(spec.multicast_group or self.settings.multicast_group)
            return " ".join([f"iperf -c {shlex.quote(group)}{' -V' if validate.is_ipv6(group) else ''}",
                             f"-p {self._port()} -t {spec.duration_s:g} -y C -T {MULTICAST_TTL}",
                             *shared_client_options(spec, 1_000_000)])
        six = " -V" if validate.is_ipv6(spec.dest_ip) else ""
        args = [f"iperf -c {shlex.quote(spec.dest_ip)}{six} -p {self._port()}",
                f"-t {spec.duration_s:g} -y C", *shared_client_options(spec, 1_000_000)]
        return " ".join(args)

    def server_report_done(self, protocol: str, server_log: str) -> bool:
        """Has the server written its report of the whole run (multicast: after its interval
        reports)?"""
        return server_report_done(server_log, intervals=protocol == "Multicast")

    def parse(self, spec: RunSpec, client: CommandResult, server_log: str) -> RunOutcome:
        mine = parse_iperf2_csv(client.stdout, client.stderr)
        if spec.protocol == "TCP":
            return RunOutcome(mine.throughput_kbps)
        if spec.protocol == "UDP" and mine.loss_rate is not None:  # receiver-side report (reverse runs)
            return RunOutcome(mine.throughput_kbps, mine.loss_rate, jitter_ms=mine.jitter_ms,
                              rx_bytes=mine.bytes)
        if not self.server_report_done(spec.protocol, server_log):
            if spec.protocol == "Multicast":  # nothing of the group reached the server
                return RunOutcome(0, None, rx_bytes=0)
            # iperf 2's server reports a UDP test only when its datagrams arrived.
            raise MeasureError("iperf: the receiving server wrote no report of this run: no "
                               "datagram arrived, or it lost track of the test")
        if spec.protocol == "Multicast":
            report = multicast_report(server_log)
            return RunOutcome(report.throughput_kbps, report.loss_rate, jitter_ms=report.jitter_ms,
                              rx_bytes=report.bytes, multicast_group=report.group)
        server = parse_iperf2_csv(server_log)
        return RunOutcome(server.throughput_kbps, server.loss_rate, jitter_ms=server.jitter_ms,
                          rx_bytes=server.bytes)
