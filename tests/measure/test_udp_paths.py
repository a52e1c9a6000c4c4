"""UDP numbers on real paths between the lab's namespaces, checked against the path itself.

The rate a tool sent is counted by the kernel (an iptables rule at the receiver), not taken
from the tool; the search runs on a tbf-shaped path (loss cuts in sharply) and on a path
whose receiver is held to a CPU quota (loss grows gradually with the rate).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_vmtp.measure.errors import MeasureError
from pytest_vmtp.measure.flows import measure_udp
from pytest_vmtp.measure.local_runner import LocalRunner
from pytest_vmtp.measure.settings import MeasureSettings

from .conftest import tool_processes_in
from .paths import UdpCounter, cpu_quota, drop_udp_data, tbf, throttled
from .search_checks import check_search as check

WINDOW = (2.0, 5.0)


@pytest.fixture
def udp() -> MeasureSettings:
    return MeasureSettings(duration_s=2, udp_pkt_sizes=(1024,), udp_probe_s=1, udp_search_max_probes=12,
                           udp_loss_target=WINDOW)


def check_search(r, settings: MeasureSettings) -> None:
    assert r.rate_search is not None and r.rate_search.probe_s == settings.udp_probe_s
    check(r.to_json(), WINDOW, settings.udp_search_max_probes)


@pytest.mark.parametrize("tool, mbit", [("nuttcp", 50), ("nuttcp", 200), ("iperf3", 50)])
def test_search_on_a_sharp_path(lab, ctl, h1, udp, tool: str, mbit: int) -> None:
    """tbf with a short queue: loss is 1 - C/rate above the capacity C, which is 96 % of the
    shaped rate in UDP payload at 1024 B (UDP, IP and Ethernet headers: 1066 B a datagram)."""
    capacity = mbit * 1000 * 1024 / 1066
    with tbf(lab, 0, mbit, latency_ms=5):
        [r] = measure_udp(ctl, h1, lab.hosts[0].ip, replace(udp, tool=tool))
    check_search(r, udp)
    assert r.rate_search.outcome == "converged" and len(r.rate_search.probes) <= 6
    # asked for 2-5 % more than the capacity, within the probes' noise
    assert capacity * 1.01 <= r.search_rate_kbps <= capacity * 1.06
    assert capacity * 0.97 <= r.throughput_kbps <= capacity * 1.01
    assert 1.0 <= r.loss_rate <= 6.0
    assert tool_processes_in(lab.hosts[0].netns) == []


def test_search_on_a_gradual_path(lab, ctl, udp) -> None:
    """The receiving nuttcp held to 30 % of a CPU: loss starts near 300 Mbit/s and grows
    slowly to 15-35 % at 1 Gbit/s while what arrives keeps growing. Noisy on a shared
    machine: the full-length run may miss the window, which the result must then say."""
    before = throttled()
    with cpu_quota("nuttcp", 30, period_us=5000) as env, LocalRunner(lab.hosts[0].netns, env=env) as h1:
        [r] = measure_udp(ctl, h1, lab.hosts[0].ip, replace(udp, duration_s=3))
        assert throttled() > before  # the receiver was short of CPU: the path is the gradual one
    check_search(r, udp)
    # a noisy receiver can keep the bracket from closing: the search then stops at its bound
    assert r.rate_search.outcome in ("converged", "narrowed", "probe-limit")
    assert r.loss_rate < 20  # near the window, not a rate that overloads the receiver
    assert tool_processes_in(lab.hosts[0].netns) == []


@pytest.mark.parametrize("tool", ["nuttcp", "iperf3", "iperf"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_each_tool_sends_the_rate_asked(lab, ctl, h1, udp, tool: str, reverse: bool) -> None:
    """Ask 50 Mbit/s for 2 s of 1024 B datagrams: 12207 of them must reach the receiver.
    iperf 2 reads "-b 50000K" as 1024-based and sends 2.4 % more (12500)."""
    settings = replace(udp, tool=tool, bandwidth_kbps=50_000)
    receiver = lab.controller.netns if reverse else lab.hosts[0].netns
    with UdpCounter(receiver, 1024) as counter:
        [r] = measure_udp(ctl, h1, lab.hosts[0].ip, settings, reverse=reverse)
        arrived = counter.packets
    expected = 50_000_000 * 2 / (1024 * 8)
    assert expected * 0.985 <= arrived <= expected * 1.008, (arrived, expected)
    assert r.bandwidth_limit_kbps == 50_000 and r.search_rate_kbps is None and r.rate_search is None
    # The tool's figure is what its receiver read: the rate sent less what the receiving socket
    # dropped (a loaded 2-core machine can starve the receiver of CPU for a moment).
    assert r.loss_rate is not None and r.loss_rate < 25, r
    assert abs(r.throughput_kbps - 50_000 * (1 - r.loss_rate / 100)) <= 1_250, r
    assert r.throughput_kbps <= 50_400


@pytest.mark.parametrize("tool, reverse, capped", [
    ("nuttcp", False, False), ("iperf3", False, False), ("iperf3", True, False), ("iperf3", False, True),
    ("iperf", False, False),
], ids=["nuttcp", "iperf3", "iperf3-reverse", "iperf3-capped", "iperf"])
def test_udp_that_delivers_nothing_fails(lab, ctl, h1, udp, tool: str, reverse: bool, capped: bool) -> None:
    """Every data datagram dropped on the way in: the size fails with the reason; it is
    never 0 % loss (iperf3) nor a measured 100 % loss at the slowest rate tried (nuttcp)."""
    settings = replace(udp, tool=tool, duration_s=1, udp_search_max_probes=4,
                       bandwidth_kbps=20_000 if capped else None)
    receiver = lab.controller.netns if reverse else lab.hosts[0].netns
    with drop_udp_data(receiver), pytest.raises(MeasureError) as info:
        measure_udp(ctl, h1, lab.hosts[0].ip, settings, reverse=reverse)
    message = str(info.value)
    if tool == "iperf":  # its server writes nothing at all then
        assert message.startswith("iperf: the receiving server wrote no report of this run")
    else:
        assert message.startswith("UDP 1024 B at ") and "no datagram reached the receiver" in message
    assert "\n" not in message
    assert tool_processes_in(lab.hosts[0].netns) == []
