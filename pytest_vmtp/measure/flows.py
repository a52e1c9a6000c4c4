"""The measurement engine's entry points, called by the scenarios.

Each function starts the tool's server on the server runner, runs the client on the client
runner, and always stops the server (try/finally), also when the client fails or the run
is interrupted. Expected failures raise MeasureError subclasses with one-line messages.
"""

from __future__ import annotations

import shlex
import time
import weakref
from contextlib import ExitStack
from dataclasses import replace
from statistics import mean

from ..results import IcmpResult, RateSearch, ThroughputResult
from . import deadlines, validate
from .errors import MeasureError
from .gmond import CpuMonitor, sampling
from .multicast import MulticastTool, choose_tool, multicast_route
from .parse_os_release import parse_os_release
from .parse_ping import parse_ping
from .probe import RunOutcome, RunSpec
from .runner import Background, CommandResult, Runner
from .settings import MeasureSettings
from .tool_iperf2 import Iperf2
from .tools import ThroughputTool, check_tools, tool_for
from .udp_search import Probe, SearchOutcome, search_udp_rate

__all__ = ["measure_tcp", "measure_udp", "measure_icmp", "measure_multicast", "check_tools",
           "host_distro"]

SERVER_READY_TIMEOUT_S = 5.0
_SIGNALS = {9: "SIGKILL", 15: "SIGTERM", 6: "SIGABRT", 11: "SIGSEGV", 2: "SIGINT", 1: "SIGHUP"}


def _killed(binary: str, where: str, exit_code: int, command: str) -> MeasureError | None:
    """A tool the shell reports killed by a signal (exit status 128 + N, or -N from Popen): it
    crashed or was killed mid-run, which its missing output would only hint at."""
    if 128 < exit_code < 128 + 65:
        sig = exit_code - 128
    elif -65 < exit_code < -1:
        sig = -exit_code
    else:
        return None
    return MeasureError(f"{binary} on {where} was killed by signal {sig} ({_SIGNALS.get(sig, 'signal')}) "
                        f"mid-run: {command}")


def _wait_listening(server: Runner, bg: Background, port: int, proto: str, label: str) -> None:
    """Wait until the server listens (ss, else netstat; else a short fixed delay)."""
    flag = "u" if proto == "udp" else "t"
    probe = (f"if command -v ss >/dev/null 2>&1; then ss -ln{flag} | grep -q ':{port} '; "
             f"elif command -v netstat >/dev/null 2>&1; then netstat -ln{flag} | grep -q ':{port} '; "
             f"else sleep 0.5; fi")
    deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.run(probe, timeout=10).ok:
            if bg.alive():
                return
            break  # someone else's server holds the port and ours gave up
        if not bg.alive():
            break
        time.sleep(0.05)
    text = " ".join(bg.log().split())[:300]
    if bg.alive():
        why = f"is not listening on {proto} port {port} after {SERVER_READY_TIMEOUT_S:g} s"
    else:
        why = f"exited at once (is {proto} port {port} already in use?)"
    raise MeasureError(f"{label} server on {server.label} {why}: {text or 'no output'}")


class ToolSession:
    """A started server plus the client-side tool, for one batch of runs."""

    def __init__(self, client: Runner, server: Runner, tool: ThroughputTool, protocol: str,
                 dest_ip: str):
        self.client, self.server, self.tool, self.protocol = client, server, tool, protocol
        self.ipv6 = validate.is_ipv6(validate.ip_address(dest_ip, "destination address"))
        self.bg: Background | None = None

    def _start_server(self) -> None:
        self.bg = self.server.start(self.tool.server_command(self.protocol, self.ipv6))
        try:
            port, proto = self.tool.listen_port(self.protocol)
            _wait_listening(self.server, self.bg, port, proto, self.tool.binary)
        except BaseException:
            self.bg.stop()
            raise

    def _stop_server(self) -> None:
        if self.bg is not None:
            self.bg.stop()

    def __enter__(self) -> ToolSession:
        self._start_server()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_server()

    def run(self, spec: RunSpec) -> RunOutcome:
        command = self.prepare(spec)
        return self.finish(spec, command,
                           self.client.run(command, timeout=deadlines.command(self.tool.settings, spec.duration_s)))

    def prepare(self, spec: RunSpec) -> str:
        """Make sure the server is there for this run; the client's command."""
        # iperf 2.1's UDP server can crash after a test, and reports each test in its own log:
        # give each such run a fresh server.
        if self._fresh(spec) or self.bg is None or not self.bg.alive():
            self._stop_server()
            self._start_server()
        return self.tool.client_command(spec)

    def finish(self, spec: RunSpec, command: str, result: CommandResult) -> RunOutcome:
        """The run's outcome from the client's result (and the server's report, iperf 2 UDP)."""
        server_log = self._iperf2_server_report(spec.protocol) if self._fresh(spec) else ""
        try:
            return self.tool.parse(spec, result, server_log)
        except MeasureError as exc:
            killed = _killed(self.tool.binary, self.client.label, result.exit_code, command)
            raise (killed or MeasureError(f"{exc} (on {self.client.label}: {command})")) from None

    def _fresh(self, spec: RunSpec) -> bool:
        return isinstance(self.tool, Iperf2) and spec.protocol in ("UDP", "Multicast")

    def _iperf2_server_report(self, protocol: str) -> str:
        """iperf 2 writes its UDP report a moment after the client is done."""
        assert self.bg is not None and isinstance(self.tool, Iperf2)
        deadline = time.monotonic() + 3.0
        while True:
            log = self.bg.log()
            if self.tool.server_report_done(protocol, log) or time.monotonic() > deadline:
                return log
            time.sleep(0.05)


def _tool_cpu(outcomes: list[RunOutcome]) -> dict[str, float] | None:
    tx = [o.cpu_tx for o in outcomes if o.cpu_tx is not None]
    rx = [o.cpu_rx for o in outcomes if o.cpu_rx is not None]
    if not tx and not rx:
        return None
    cpu: dict[str, float] = {}
    if tx:
        cpu["tx"] = round(mean(tx), 1)
    if rx:
        cpu["rx"] = round(mean(rx), 1)
    return cpu


def measure_tcp(client: Runner, server: Runner, dest_ip: str, settings: MeasureSettings,
                reverse: bool = False, host_cpu: CpuMonitor | None = None) -> list[ThroughputResult]:
    """settings.tcp_runs results per TCP message size, one per run (as VMTP), numbered by `run`;
    each run with the hosts' CPU load sampled while it ran (host_cpu)."""
    tool = tool_for(client, settings)
    results = []
    with ToolSession(client, server, tool, "TCP", dest_ip) as session:
        for size in settings.tcp_pkt_sizes:
            spec = RunSpec("TCP", dest_ip, settings.duration_s, size, settings.bandwidth_kbps,
                           reverse, settings.tcp_buffer)
            for run in range(1, max(1, settings.tcp_runs) + 1):
                with sampling(host_cpu) as samples:
                    out = session.run(spec)
                results.append(ThroughputResult(
                    protocol="TCP", tool=tool.version, throughput_kbps=out.throughput_kbps,
                    pkt_size=size, rtt_ms=out.rtt_ms, retrans=out.retrans,
                    bandwidth_limit_kbps=settings.bandwidth_kbps,
                    direction="reverse" if reverse else None, cpu_load=samples.cpu_load(),
                    tool_cpu_pct=_tool_cpu([out]), run=run,
                ))
    return results


def checked_udp(out: RunOutcome, protocol: str, size: int, rate_kbps: int | None, tool: str,
             group: str | None = None) -> RunOutcome:
    """A UDP run whose loss is unknown, or that delivered nothing, is a failure, never 0 % loss."""
    at = f"at {rate_kbps} kbit/s" if rate_kbps else "at full speed"
    if out.rx_bytes == 0 or (out.loss_rate is not None and out.loss_rate >= 100.0):
        if protocol == "Multicast":
            raise MeasureError(
                f"Multicast {size} B {at}: no datagram sent to group {out.multicast_group or group} "
                f"reached the receiver ({tool}): a router forwards multicast only where the cloud "
                "relays it (OVN's with mcast_relay; Neutron's L3 agent never); else check that the "
                "security group lets UDP through")
        raise MeasureError(f"{protocol} {size} B {at}: no datagram reached the receiver ({tool}); "
                           "check the path and that the security group lets UDP through")
    if out.loss_rate is None:
        raise MeasureError(f"{protocol} {size} B {at}: {tool} reported no loss figure, "
                           "so the loss is unknown")
    return out


def _udp_like(session: ToolSession, protocol: str, dest_ip: str, settings: MeasureSettings,
              size: int, reverse: bool, multicast: MulticastTool | None = None,
              host_cpu: CpuMonitor | None = None) -> ThroughputResult:
    """Measure at the capped rate, or search the rate (short probes) and then measure once;
    host CPU is sampled during that full-length run only (VMTP: probes are not sampled)."""
    version = session.tool.version
    group = settings.multicast_group if multicast else None

    def run(rate: int | None, duration: float) -> RunOutcome:
        spec = RunSpec(protocol, dest_ip, duration, size, rate, reverse, settings.udp_buffer, group)
        return checked_udp(session.run(spec), protocol, size, rate, version, group)

    search: SearchOutcome | None = None
    rate = settings.bandwidth_kbps
    if rate is None:
        def probe(kbps: int) -> Probe:
            out = run(kbps, settings.udp_probe_s)
            assert out.loss_rate is not None  # checked_udp
            return Probe(kbps, out.throughput_kbps, out.loss_rate)

        search = search_udp_rate(probe, settings.udp_loss_target, settings.udp_search_max_probes,
                                 settings.udp_search_start_kbps)
        rate = search.rate_kbps
    with sampling(host_cpu) as samples:
        out = run(rate, settings.duration_s)
    assert out.loss_rate is not None  # checked_udp
    low, high = settings.udp_loss_target
    return ThroughputResult(
        protocol=protocol, tool=version, throughput_kbps=out.throughput_kbps,
        pkt_size=size, loss_rate=round(out.loss_rate, 4),
        bandwidth_limit_kbps=settings.bandwidth_kbps, direction="reverse" if reverse else None,
        cpu_load=samples.cpu_load(), tool_cpu_pct=_tool_cpu([out]),
        jitter=round(out.jitter_ms, 4) if out.jitter_ms is not None else None,
        jitter_kind=session.tool.jitter_kind if multicast and out.jitter_ms is not None else None,
        # The group as the tool reported it; else the one asked, if the tool takes a group.
        multicast_group=(out.multicast_group or (group if getattr(session.tool, "multicast_options", False)
                                                 else None)) if multicast else None,
        multicast_group_asked=group,
        note=multicast.note if multicast else None,
        search_rate_kbps=search.rate_kbps if search else None,
        loss_in_target=(low <= out.loss_rate <= high) if search else None,
        rate_search=RateSearch(
            outcome=search.outcome, loss_target=[low, high], probe_s=settings.udp_probe_s,
            probes=[{"rate_kbps": p.rate_kbps, "throughput_kbps": p.throughput_kbps,
                     "loss_rate": round(p.loss_rate, 4)} for p in search.probes],
        ) if search else None,
    )


def measure_udp(client: Runner, server: Runner, dest_ip: str, settings: MeasureSettings,
                reverse: bool = False, host_cpu: CpuMonitor | None = None) -> list[ThroughputResult]:
    """One result per UDP packet size; loss_rate in percent; without a cap, the rate searched."""
    tool = tool_for(client, settings)
    with ToolSession(client, server, tool, "UDP", dest_ip) as session:
        return [_udp_like(session, "UDP", dest_ip, settings, size, reverse, host_cpu=host_cpu)
                for size in settings.udp_pkt_sizes]


def measure_multicast(client: Runner, server: Runner, settings: MeasureSettings,
                      dest_ip: str | None = None, group: str | None = None,
                      peer_ip: str | None = None, host_cpu: CpuMonitor | None = None) -> list[ThroughputResult]:
    """Multicast throughput, loss and max jitter per UDP size, as VMTP (nuttcp -m32 -o -j
    -g<group>), with the tool measure/multicast.py picks for these hosts: each result names the
    group its datagrams went to, and a note says where that or the jitter differs from VMTP's.

    dest_ip: the server's address (nuttcp's control connection is unicast; the data goes to the
    group); peer_ip: the client's address as the server sees it (which interface joins the group).
    """
    if dest_ip is None:
        raise MeasureError("multicast needs the server's address for nuttcp's control connection")
    settings = replace(settings, multicast_group=validate.multicast_group(group or settings.multicast_group))
    chosen = choose_tool(client, server, settings)
    with ExitStack() as stack:
        # The server joins the group when it starts (iperf 2) or when a test starts (nuttcp).
        stack.enter_context(multicast_route(client, dest_ip, settings.multicast_group))
        stack.enter_context(multicast_route(server, peer_ip, settings.multicast_group))
        session = stack.enter_context(ToolSession(client, server, chosen.tool, "Multicast", dest_ip))
        return [_udp_like(session, "Multicast", dest_ip, settings, size, False, chosen, host_cpu)
                for size in settings.udp_pkt_sizes]


def measure_icmp(client: Runner, dest_ip: str, settings: MeasureSettings) -> IcmpResult:
    """ping once per ICMP size; 100 % loss gives None rtts, not an error."""
    results = []
    dest_ip = validate.ip_address(dest_ip, "destination address")
    count = validate.whole_number(settings.ping_count, "ping count", 1_000_000)
    interval = validate.seconds(settings.ping_interval_s, "ping interval")
    for size in settings.icmp_pkt_sizes:
        size = validate.whole_number(size, "ICMP packet size", validate.MAX_PKT_SIZE)
        six = "-6 " if validate.is_ipv6(dest_ip) else ""  # iputils and busybox alike (VMTP: ping6)
        command = f"ping {six}-c {count} -i {interval:g} -s {size} -q {shlex.quote(dest_ip)}"
        # busybox ping waits up to 10 s for a first reply once all pings are sent
        timeout = count * (interval + 1) + 15
        res = client.run(command, timeout=timeout)
        try:
            results.append(parse_ping(res.output, size))
        except MeasureError as exc:
            killed = _killed("ping", client.label, res.exit_code, command)
            raise (killed or MeasureError(f"{exc} (on {client.label})")) from None
    return IcmpResult(results=results, ping_interval_s=interval)


_distros: weakref.WeakKeyDictionary[Runner, tuple[str | None, str | None]] = weakref.WeakKeyDictionary()


def host_distro(runner: Runner) -> tuple[str | None, str | None]:
    """(ID, VERSION_ID) of the host's /etc/os-release; (None, None) if it has none. Asked once
    per runner (one per VM and run; every row asked again: a round trip per row)."""
    if runner not in _distros:
        res = runner.run("cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release", timeout=15)
        _distros[runner] = parse_os_release(res.stdout) if res.ok else (None, None)
    return _distros[runner]
