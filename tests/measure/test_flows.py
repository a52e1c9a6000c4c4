"""The engine's entry points with real tools between the lab's namespaces (1 s runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import replace

import pytest

from pytest_vmtp.measure.errors import MeasureError, ToolMissing
from pytest_vmtp.measure.flows import (
    check_tools,
    host_distro,
    measure_icmp,
    measure_multicast,
    measure_tcp,
    measure_udp,
)
from pytest_vmtp.measure.local_runner import LocalRunner
from pytest_vmtp.measure.runner import CommandResult
from pytest_vmtp.measure.settings import MeasureSettings
from pytest_vmtp.report.data_column import data_for

from .conftest import tool_processes_in

GBIT = 1_000_000  # kbit/s


def assert_plausible_tcp(result, tool_prefix: str, run: int = 1) -> None:
    assert result.protocol == "TCP" and result.tool.startswith(tool_prefix)
    assert result.run == run and result.pkt_size == 65536
    # veth between namespaces: well above 1 Gbit/s on any machine that runs these tests
    assert GBIT < result.throughput_kbps < 1000 * GBIT


@pytest.mark.parametrize("tool, prefix, has_rtt", [
    ("nuttcp", "nuttcp-", True), ("iperf3", "iperf3-", True), ("iperf", "iperf-", False),
])
def test_tcp_each_tool(lab, ctl, h1, fast: MeasureSettings, tool, prefix, has_rtt) -> None:
    """One result per run, as VMTP: each with its own rtt and retransmissions."""
    results = measure_tcp(ctl, h1, lab.hosts[0].ip, replace(fast, tool=tool))
    assert [r.run for r in results] == [1, 2]
    for n, r in enumerate(results, 1):
        assert_plausible_tcp(r, prefix, run=n)
        assert (r.rtt_ms is not None) == has_rtt
        # iperf 2 gives none; Debian's nuttcp 6.1.2 cannot count them (recorded as unknown)
        assert (r.retrans is not None) == (tool == "iperf3" or (tool == "nuttcp" and r.tool != "nuttcp-6.1.2"))
        assert r.direction is None and r.bandwidth_limit_kbps is None
    assert tool_processes_in(lab.hosts[0].netns) == []


@pytest.mark.parametrize("tool", ["iperf3", "nuttcp"])
def test_tcp_runs_keep_their_own_retransmissions(lab, ctl, h1, fast, tool: str) -> None:
    """Three runs through a lossy path (1 % of the data segments dropped at the server,
    iptables' statistic match): each run's own retransmission count is kept, and the table
    shows the runs' mean, min and max. Debian's nuttcp 6.1.2 prints retrans=0 there: that
    is recorded as unknown, not as zero."""
    settings = replace(fast, tcp_runs=3, tool=tool)
    port = settings.iperf_port if tool == "iperf3" else settings.nuttcp_data_port
    rule = ["INPUT", "-p", "tcp", "--dport", str(port), "-m", "statistic",
            "--mode", "random", "--probability", "0.01", "-j", "DROP"]
    ipt = ["ip", "netns", "exec", lab.hosts[0].netns, "iptables"]
    subprocess.run([*ipt, "-I", *rule], check=True)
    try:
        results = measure_tcp(ctl, h1, lab.hosts[0].ip, settings)
    finally:
        subprocess.run([*ipt, "-D", *rule], check=True)
    assert [r.run for r in results] == [1, 2, 3]
    assert all(r.rtt_ms is not None for r in results)
    if results[0].tool == "nuttcp-6.1.2":
        assert [r.retrans for r in results] == [None] * 3
    else:
        assert all(r.retrans is not None and r.retrans > 0 for r in results), results
        assert len({r.retrans for r in results}) > 1  # each run its own count
    cell = data_for("tcp", [r.to_json() for r in results])
    rates = [r.throughput_kbps for r in results]
    assert cell["tp_kbps"] == str(int(sum(rates) / 3))
    assert (cell["tp_kbps_min"], cell["tp_kbps_max"]) == (str(min(rates)), str(max(rates)))


def test_tcp_reverse_with_nuttcp(lab, ctl, h1, fast) -> None:
    [r] = measure_tcp(ctl, h1, lab.hosts[0].ip, replace(fast, tcp_runs=1), reverse=True)
    assert_plausible_tcp(r, "nuttcp-")
    assert r.direction == "reverse" and r.tool_cpu_pct and set(r.tool_cpu_pct) == {"tx", "rx"}
    assert r.cpu_load is None  # host CPU comes from Ganglia only (no gmond here)


def test_tcp_with_bandwidth_cap(lab, ctl, h1, fast) -> None:
    capped = replace(fast, tcp_runs=1, bandwidth_kbps=200_000)
    [r] = measure_tcp(ctl, h1, lab.hosts[0].ip, capped)
    assert r.bandwidth_limit_kbps == 200_000
    assert 150_000 < r.throughput_kbps < 220_000


def test_udp_rate_search_then_measures_full_length(lab, ctl, h1, fast) -> None:
    [r] = measure_udp(ctl, h1, lab.hosts[0].ip, fast)
    assert r.protocol == "UDP" and r.pkt_size == 1024 and r.tool.startswith("nuttcp-")
    assert r.bandwidth_limit_kbps is None  # the user gave no cap
    search = r.rate_search
    assert search and 1 <= len(search.probes) <= fast.udp_search_max_probes
    assert r.search_rate_kbps in [p["rate_kbps"] for p in search.probes]
    assert r.loss_in_target == (2.0 <= r.loss_rate <= 5.0)
    assert r.throughput_kbps > 10_000
    assert tool_processes_in(lab.hosts[0].netns) == []


@pytest.mark.parametrize("tool", ["nuttcp", "iperf3", "iperf"])
def test_udp_with_cap_each_tool(lab, ctl, h1, fast, tool) -> None:
    """8192 B datagrams too (VMTP's largest size): iperf 2's server read them with its 1470-byte
    default buffer and counted a fifth of what arrived."""
    settings = replace(fast, tool=tool, bandwidth_kbps=10_000, udp_pkt_sizes=(128, 1024, 8192))
    results = measure_udp(ctl, h1, lab.hosts[0].ip, settings)
    assert [r.pkt_size for r in results] == [128, 1024, 8192]
    for r in results:
        assert r.bandwidth_limit_kbps == 10_000
        # Plausible, not fast: a loaded test machine may drop some of ~10k packets/s.
        assert 5_000 < r.throughput_kbps < 11_000, r
        assert r.loss_rate is not None and r.loss_rate < 30, r
    assert tool_processes_in(lab.hosts[0].netns) == []


def _multicast_routes(netns: str) -> str:
    return subprocess.run(["ip", "-n", netns, "route", "show", "224.0.0.0/4"], capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.mark.parametrize("tool", ["auto", "nuttcp"])
def test_multicast_each_tool(lab, ctl, h1, fast, tool) -> None:
    """The lab's namespaces have no default route (as the local cloud's compute hosts): the row
    adds 224.0.0.0/4 and removes it. Debian 12's nuttcp 6.1.2 cannot send to the group asked
    nor measure jitter: auto measures with iperf 2, which does both; nuttcp says what it did."""
    settings = replace(fast, bandwidth_kbps=20_000, multicast_tool=tool, multicast_group="231.1.2.3")
    [r] = measure_multicast(ctl, h1, settings, dest_ip=lab.hosts[0].ip, peer_ip=lab.controller.ip)
    assert r.protocol == "Multicast" and 15_000 < r.throughput_kbps < 22_000
    assert r.loss_rate is not None and r.multicast_group_asked == "231.1.2.3"
    if r.tool.startswith("iperf-"):
        assert r.multicast_group == "231.1.2.3" and r.jitter is not None and r.jitter_kind == "max-interval"
        assert r.note.startswith("measured with iperf-2") and "cannot send to a chosen group" in r.note
    else:
        assert tool == "nuttcp" and r.tool == "nuttcp-6.1.2"
        assert r.multicast_group == "231.18.0.10"  # 231 + the sender's low three bytes
        assert r.jitter is None and r.note.startswith("nuttcp-6.1.2 has neither -g nor -j")
        assert data_for("multicast", [r.to_json()])[1024]["group"] == "231.18.0.10, not 231.1.2.3"
    assert _multicast_routes(lab.controller.netns) == _multicast_routes(lab.hosts[0].netns) == ""
    assert tool_processes_in(lab.hosts[0].netns) == []


def test_multicast_over_ssh(lab, ssh_h1, ssh_h2, fast) -> None:
    """Routes kept over SSH (sshd's sessions), on both ends, gone after."""
    settings = replace(fast, bandwidth_kbps=20_000)
    [r] = measure_multicast(ssh_h1, ssh_h2, settings, dest_ip=lab.hosts[1].ip, peer_ip=lab.hosts[0].ip)
    assert 15_000 < r.throughput_kbps < 22_000 and r.multicast_group == "231.1.1.1"
    assert _multicast_routes(lab.hosts[0].netns) == _multicast_routes(lab.hosts[1].netns) == ""


def test_icmp(lab, ctl, fast) -> None:
    result = measure_icmp(ctl, lab.hosts[0].ip, fast)
    assert [r.packet_size for r in result.results] == [64, 391, 1500]
    for r in result.results:
        assert r.tx_packets == r.rx_packets == 3
        assert 0 < r.rtt_min_ms <= r.rtt_avg_ms <= r.rtt_max_ms < 50


def test_icmp_records_its_interval(ctl, lab, fast) -> None:
    result = measure_icmp(ctl, lab.hosts[0].ip, replace(fast, icmp_pkt_sizes=(64,), ping_interval_s=0.3))
    assert result.ping_interval_s == 0.3 and result.to_json()["ping_interval_s"] == 0.3
    assert result.results[0].rx_packets == fast.ping_count


def test_icmp_with_busybox_ping(lab, fast, tmp_path) -> None:
    """CirrOS' ping is busybox's: no stddev. Every size still gets its row in the table."""
    (tmp_path / "ping").symlink_to("/usr/bin/busybox")
    with LocalRunner(lab.controller.netns, env={"PATH": f"{tmp_path}:/usr/bin:/bin"}) as busybox_host:
        result = measure_icmp(busybox_host, lab.hosts[0].ip, fast)
    assert [(r.packet_size, r.rx_packets, r.rtt_stddev) for r in result.results] == [
        (64, 3, None), (391, 3, None), (1500, 3, None)]
    cell = data_for("icmp", [result.to_json()])["rtt avg/min/max/stddev msec"]
    assert list(cell) == ["64-byte", "391-byte", "1500-byte"]
    assert all(v.endswith("/-") and v.count("/") == 3 for v in cell.values())


def test_icmp_total_loss_is_a_result_not_an_error(ctl, fast) -> None:
    result = measure_icmp(ctl, "198.18.0.99", replace(fast, icmp_pkt_sizes=(64,), ping_count=2))
    [r] = result.results
    assert r.rx_packets == 0 and r.rtt_avg_ms is None


def test_over_ssh_both_ends(lab, ssh_h1, ssh_h2, fast) -> None:
    [r] = measure_tcp(ssh_h1, ssh_h2, lab.hosts[1].ip, replace(fast, tcp_runs=1))
    assert_plausible_tcp(r, "nuttcp-")
    [u] = measure_udp(ssh_h1, ssh_h2, lab.hosts[1].ip, replace(fast, bandwidth_kbps=100_000))
    assert 80_000 < u.throughput_kbps < 110_000
    assert tool_processes_in(lab.hosts[1].netns) == []
    assert host_distro(ssh_h2) == host_distro(LocalRunner())


def test_server_stopped_after_client_failure(lab, ctl, h1, fast) -> None:
    # The client aims at a host where no server listens: nuttcp's connection is refused.
    with pytest.raises(MeasureError) as info:
        measure_tcp(ctl, h1, lab.hosts[1].ip, replace(fast, tcp_runs=1))
    message = str(info.value)
    assert message.startswith("nuttcp: ") and "Connection refused" in message
    assert "\n" not in message
    assert f"on {ctl.label}: nuttcp " in message
    assert tool_processes_in(lab.hosts[0].netns) == []


def test_server_and_client_stopped_after_ctrl_c(lab, ctl, h1, fast) -> None:
    """A real SIGINT to this process half-way through the client run."""
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            measure_tcp(ctl, h1, lab.hosts[0].ip, replace(fast, duration_s=5, tcp_runs=1))
    finally:
        timer.cancel()
    assert tool_processes_in(lab.hosts[0].netns) == []
    assert tool_processes_in(lab.controller.netns) == []


def test_busy_port_gives_a_clear_error(lab, ctl, h1, fast) -> None:
    """Measuring against someone else's server would give wrong results: refuse."""
    blocker = h1.start(f"nuttcp -S -P{fast.nuttcp_control_port} --nofork")
    try:
        deadline = time.monotonic() + 5
        while not h1.run("ss -lnt | grep -q ':5002 '", timeout=5).ok:  # let it take the port
            assert time.monotonic() < deadline, blocker.log()
            time.sleep(0.02)
        with pytest.raises(MeasureError, match=rf"^nuttcp server on {h1.label} exited at once "
                                               r"\(is tcp port 5002 already in use\?\)"):
            measure_tcp(ctl, h1, lab.hosts[0].ip, replace(fast, tcp_runs=1))
    finally:
        blocker.stop()


def test_check_tools(h1, fast, tmp_path) -> None:
    check_tools(h1, fast, ["TCP", "UDP", "ICMP"])
    check_tools(h1, replace(fast, tool="iperf3"), "TUI")
    bare = LocalRunner(h1.netns, env={"PATH": str(tmp_path)})
    with pytest.raises(ToolMissing, match=rf"^nuttcp not found on host {bare.label}: "
                                          "install it or pick --vmtp-tool$"):
        check_tools(bare, fast, ["TCP"])
    with pytest.raises(ToolMissing, match="^ping not found"):
        check_tools(bare, fast, ["ICMP"])


class CountingRunner(LocalRunner):
    """A real runner that counts the commands it runs."""

    def __init__(self, netns: str) -> None:
        super().__init__(netns)
        self.commands: list[str] = []

    def run(self, command: str, timeout: float) -> CommandResult:
        self.commands.append(command)
        return super().run(command, timeout=timeout)


def test_tools_and_distro_are_asked_once_per_runner(h1, fast) -> None:
    """Every row asked each VM again (an SSH round trip each, per row: most of a row's cost
    beyond its tools); a second runner of the same host still asks for itself."""
    first = CountingRunner(h1.netns)
    for _ in range(3):  # three rows through one VM
        check_tools(first, fast, ["TCP", "ICMP"])
        host_distro(first)
    assert len(first.commands) == 3, first.commands  # nuttcp, ping, os-release: once each
    second = CountingRunner(h1.netns)
    check_tools(second, fast, ["TCP"])
    assert host_distro(second) == host_distro(first) and len(second.commands) == 2


def test_unknown_tool(ctl, h1, fast) -> None:
    with pytest.raises(MeasureError, match="unknown tool 'netperf'"):
        measure_tcp(ctl, h1, "198.18.0.11", replace(fast, tool="netperf"))


def test_host_distro(h1) -> None:
    distro_id, version = host_distro(h1)
    assert distro_id and version


@pytest.mark.parametrize("tool", ["nuttcp", "iperf3", "iperf"])
def test_udp_reverse_each_tool(lab, ctl, h1, fast, tool) -> None:
    settings = replace(fast, tool=tool, bandwidth_kbps=10_000)
    [r] = measure_udp(ctl, h1, lab.hosts[0].ip, settings, reverse=True)
    assert r.direction == "reverse" and 5_000 < r.throughput_kbps < 11_000, r
    assert r.loss_rate is not None and r.loss_rate < 30, r
    assert tool_processes_in(lab.hosts[0].netns) == []
