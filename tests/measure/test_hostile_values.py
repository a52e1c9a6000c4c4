"""Hostile values never reach a tool's command line: each builder refuses them in one line.

Addresses, multicast groups, buffers, sizes, rates and ports come from options, config files,
host specs and the cloud's API; the command lines run as root on hosts. Every builder checks
what it is given (MeasureError naming the value) before anything runs.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_vmtp.measure.errors import MeasureError
from pytest_vmtp.measure.flows import measure_icmp
from pytest_vmtp.measure.probe import RunSpec
from pytest_vmtp.measure.settings import MeasureSettings
from pytest_vmtp.measure.tool_iperf2 import Iperf2
from pytest_vmtp.measure.tool_iperf3 import Iperf3
from pytest_vmtp.measure.tool_nuttcp import Nuttcp

TOOLS = [Nuttcp, Iperf3, Iperf2]

BAD_ADDRESSES = [
    "1.2.3.4; rm -rf /", "$(reboot)", "`reboot`", "1.2.3.4 -x", "-x", "1.2.3.4\nreboot",
    "1.2.3.4 && id", "fe80::1%$(reboot)", "host.example", "", "1.2.3.256",
]
BAD_GROUPS = ["231.1.1.1 -x", "$(reboot)", "231.1.1.1\n", "231.1.1.1;id", "10.0.0.1", "192.0.2.1",
              "240.0.0.1"]
BAD_BUFFERS = ["128K;id", "$(reboot)", "128K -x", "128K\nid", "-1", "0", "K", "1.5M"]
BAD_SIZES = [0, -1, "64;id", "64\n", 1 << 30]
BAD_RATES = [0, -5, "100;id", "1e9"]
BAD_DURATIONS = [0, -1, float("nan"), float("inf"), "2;id"]


def _spec(**changes) -> RunSpec:
    return replace(RunSpec("UDP", "192.0.2.10", 2.0, 1024, 100_000), **changes)


def _one_line_refusal(call, value) -> str:
    with pytest.raises(MeasureError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    assert repr(value) in message or repr(str(value)) in message, message  # names the value
    return message


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.binary)
@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_bad_destination_is_refused(tool, address) -> None:
    for protocol in ("TCP", "UDP"):
        message = _one_line_refusal(
            lambda p=protocol: tool(MeasureSettings()).client_command(_spec(protocol=p, dest_ip=address)),
            address)
        assert "not an IP address" in message


@pytest.mark.parametrize("group", BAD_GROUPS)
def test_bad_multicast_group_is_refused(group) -> None:
    spec = _spec(protocol="Multicast", multicast_group=group)
    message = _one_line_refusal(lambda: Nuttcp(MeasureSettings()).client_command(spec), group)
    assert "multicast" in message


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.binary)
@pytest.mark.parametrize("buffer", BAD_BUFFERS)
def test_bad_buffer_is_refused(tool, buffer) -> None:
    message = _one_line_refusal(lambda: tool(MeasureSettings()).client_command(_spec(buffer=buffer)), buffer)
    assert "buffer" in message


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.binary)
@pytest.mark.parametrize("field, value", [("pkt_size", v) for v in BAD_SIZES]
                         + [("rate_kbps", v) for v in BAD_RATES]
                         + [("duration_s", v) for v in BAD_DURATIONS])
def test_bad_numbers_are_refused(tool, field, value) -> None:
    _one_line_refusal(lambda: tool(MeasureSettings()).client_command(_spec(**{field: value})), value)


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.binary)
@pytest.mark.parametrize("port", [0, 70000, "5001;id", "5001 -x"])
def test_bad_ports_are_refused_on_both_sides(tool, port) -> None:
    settings = MeasureSettings(nuttcp_data_port=port, nuttcp_control_port=port, iperf_port=port)
    _one_line_refusal(lambda: tool(settings).server_command("UDP"), port)
    _one_line_refusal(lambda: tool(settings).client_command(_spec()), port)


class _NothingMayRun:
    """A host on which nothing may run: the check must come before any command.

    (A stand-in for a host, because the point is that no command is issued at all.)"""

    label = "nowhere"

    def run(self, command: str, timeout: float):
        raise AssertionError(f"a command was run: {command}")


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_ping_refuses_a_bad_destination_before_running(address) -> None:
    settings = MeasureSettings(icmp_pkt_sizes=(64,))
    message = _one_line_refusal(lambda: measure_icmp(_NothingMayRun(), address, settings), address)  # type: ignore[arg-type]
    assert "not an IP address" in message


@pytest.mark.parametrize("settings", [
    MeasureSettings(icmp_pkt_sizes=("64;id",)), MeasureSettings(ping_count="3;id"),  # type: ignore[arg-type]
    MeasureSettings(ping_interval_s=float("nan")),
])
def test_ping_refuses_bad_numbers(settings) -> None:
    with pytest.raises(MeasureError) as info:
        measure_icmp(_NothingMayRun(), "192.0.2.10", settings)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.binary)
@pytest.mark.parametrize("address", ["192.0.2.10", "2001:db8::7", "fe80::1%eth0"])
def test_good_values_pass_and_end_up_as_one_word_each(tool, address) -> None:
    spec = _spec(dest_ip=address, buffer="128K")
    command = tool(MeasureSettings()).client_command(spec)
    words = command.split()
    assert words[-1] == address or address in words
    assert "128K" in " ".join(words)


def test_good_multicast_group() -> None:
    spec = _spec(protocol="Multicast", multicast_group="231.255.0.7")  # nuttcp's any-source range
    assert "-g231.255.0.7" in Nuttcp(MeasureSettings(), "nuttcp-8.2.2").client_command(spec).split()
