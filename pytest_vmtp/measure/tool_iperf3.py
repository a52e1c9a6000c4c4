"""iperf3 command lines (`--json`) and the reading of their output."""

from __future__ import annotations

import shlex

from . import validate
from .errors import MeasureError
from .iperf_options import shared_client_options
from .parse_iperf3 import parse_iperf3_json
from .probe import RunOutcome, RunSpec
from .runner import CommandResult
from .settings import MeasureSettings


class Iperf3:
    binary = "iperf3"
    version_command = "iperf3 --version 2>&1"
    jitter_kind = "rfc3550"  # UDP: iperf3's running estimate at the end (no multicast)

    def __init__(self, settings: MeasureSettings, version: str = "iperf3") -> None:
        self.settings = settings
        self.version = version

    def server_command(self, protocol: str, ipv6: bool = False) -> str:
        # One server serves TCP and UDP tests one after the other; stop() ends it. It listens
        # on IPv4 and IPv6 alike (a dual-stack socket).
        return f"iperf3 -s -p {self._port()}"

    def _port(self) -> int:
        return validate.port(self.settings.iperf_port, "iperf_port")

    def listen_port(self, protocol: str) -> tuple[int, str]:
        return self._port(), "tcp"

    def client_command(self, spec: RunSpec) -> str:
        spec = validate.run_spec(spec)
        if spec.protocol == "Multicast":
            raise MeasureError("iperf3 cannot measure multicast: use --vmtp-tool nuttcp")
        # iperf3 sends UDP at 1 Mbit/s unless told; 0 means as fast as possible.
        six = " -6" if validate.is_ipv6(spec.dest_ip) else ""
        args = [f"iperf3 -c {shlex.quote(spec.dest_ip)}{six} -p {self._port()}",
                f"-t {spec.duration_s:g} --json", *shared_client_options(spec, 0)]
        return " ".join(args)

    def parse(self, spec: RunSpec, client: CommandResult, server_log: str) -> RunOutcome:
        r = parse_iperf3_json(client.stdout or client.stderr, reverse=spec.reverse)
        return RunOutcome(r.throughput_kbps, r.loss_rate, r.rtt_ms, r.retrans, r.jitter_ms,
                          r.cpu_tx, r.cpu_rx, r.rx_bytes)
