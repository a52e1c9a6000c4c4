"""The pure parsers against outputs captured from the real tools (tests/data)."""

from __future__ import annotations

import json

import pytest

from pytest_vmtp.measure.errors import MeasureError
from pytest_vmtp.measure.parse_iperf2 import parse_iperf2_csv, parse_iperf2_version
from pytest_vmtp.measure.parse_iperf3 import parse_iperf3_json, parse_iperf3_version
from pytest_vmtp.measure.parse_nuttcp import parse_nuttcp_fparse, parse_nuttcp_version
from pytest_vmtp.measure.parse_os_release import parse_os_release
from pytest_vmtp.measure.parse_ping import parse_ping

from .conftest import data


def test_nuttcp_tcp_fparse() -> None:
    r = parse_nuttcp_fparse(data("nuttcp_tcp_fparse.txt"))
    assert r.rate_mbps == pytest.approx(14735.6445)
    assert r.throughput_kbps == pytest.approx(14_735_645, abs=1)  # kbit/s = 1000 bit/s
    assert (r.retrans, r.rtt_ms, r.tx_cpu, r.rx_cpu) == (0, 0.19, 95, 30)
    assert r.loss_rate is None


def test_nuttcp_reverse_has_same_shape() -> None:
    assert parse_nuttcp_fparse(data("nuttcp_tcp_reverse_fparse.txt")).rtt_ms == 0.18


def test_nuttcp_udp_loss_is_drop_over_pkt() -> None:
    r = parse_nuttcp_fparse(data("nuttcp_udp_fparse_loss.txt"))
    assert (r.drop, r.pkt) == (4109, 244078)
    assert r.loss_rate == pytest.approx(4109 * 100 / 244078)
    assert r.retrans is None and r.rtt_ms is None


def test_nuttcp_udp_nothing_received() -> None:
    """All data datagrams dropped (iptables): nuttcp counts them all as lost."""
    r = parse_nuttcp_fparse(data("nuttcp_udp_nothing.txt"))
    assert (r.megabytes, r.rate_mbps, r.loss_rate) == (0.0, 0.0, 100.0)


def test_nuttcp_negative_drop_is_clamped() -> None:
    line = data("nuttcp_udp_fparse.txt").replace("drop=0", "drop=-3")
    assert parse_nuttcp_fparse(line).loss_rate == 0.0


@pytest.mark.parametrize("name, expected", [
    ("nuttcp_refused.txt", "nuttcp: nuttcp-t: v6.1.2: Error: connect: Connection refused"),
    ("nuttcp_bad_option.txt", "nuttcp: nuttcp rejected its command line"),
])
def test_nuttcp_errors_are_one_line(name: str, expected: str) -> None:
    with pytest.raises(MeasureError) as info:
        parse_nuttcp_fparse(data(name))
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_nuttcp_plain_output_is_rejected_not_misread() -> None:
    with pytest.raises(MeasureError):
        parse_nuttcp_fparse(data("nuttcp_tcp_plain.txt"))


def test_versions() -> None:
    assert parse_nuttcp_version(data("nuttcp_version.txt")) == "nuttcp-6.1.2"
    assert parse_iperf3_version(data("iperf3_version.txt")) == "iperf3-3.12"
    assert parse_iperf2_version(data("iperf2_version.txt")) == "iperf-2.1.8"
    assert parse_nuttcp_version("nuttcp-v8.2.2\n") == "nuttcp-8.2.2"


def test_iperf3_tcp() -> None:
    r = parse_iperf3_json(data("iperf3_tcp.json"))
    assert r.throughput_kbps == round(20628260710.494274 / 1000)
    assert r.retrans == 0 and r.rtt_ms == pytest.approx(0.045)
    assert r.cpu_tx == pytest.approx(96.888, abs=0.01)  # the client sent


def test_iperf3_reverse_swaps_cpu_and_has_no_rtt() -> None:
    r = parse_iperf3_json(data("iperf3_tcp_reverse.json"), reverse=True)
    assert r.cpu_tx == pytest.approx(99.47, abs=0.01)  # the server sent
    assert r.rtt_ms is None  # the receiving client measures no rtt


def test_iperf3_udp() -> None:
    r = parse_iperf3_json(data("iperf3_udp.json"))
    assert r.loss_rate == 0.0 and r.jitter_ms == pytest.approx(0.00774, abs=1e-5)
    assert 99_000 < r.throughput_kbps < 101_000


# Captured through a 30 Mbit/s tbf, asking 50 Mbit/s: about 40 % of the datagrams are lost.
@pytest.mark.parametrize("name, reverse, kbps, loss", [
    ("iperf3_udp_loss.json", False, 28_923_671.775561765 / 1000, 40.43599409932798),
    ("iperf3_udp_reverse_loss.json", True, 28_932_538.244127452 / 1000, 39.200589728888524),
])
def test_iperf3_udp_reads_the_receivers_figures(name: str, reverse: bool, kbps: float, loss: float) -> None:
    """end.sum_received is what arrived, in both directions (with -R the client received);
    the sender's rate times (1 - loss) is not, and in reverse runs it was off by 5 %."""
    r = parse_iperf3_json(data(name), reverse=reverse)
    assert r.throughput_kbps == round(kbps)
    assert r.loss_rate == pytest.approx(loss)
    assert r.rx_bytes == (7_439_360 if not reverse else 7_233_536)


@pytest.mark.parametrize("name, reverse", [
    ("iperf3_udp_nothing.json", False), ("iperf3_udp_reverse_nothing.json", True),
])
def test_iperf3_udp_nothing_received_is_total_loss(name: str, reverse: bool) -> None:
    """Every data datagram dropped on the way (iptables): iperf3's receiver counts 0 lost of
    0 received, which must not read as 0 % loss."""
    r = parse_iperf3_json(data(name), reverse=reverse)
    assert (r.loss_rate, r.throughput_kbps) == (100.0, 0)
    assert r.rx_bytes == 0


def test_iperf3_before_3_11_has_only_the_senders_sum() -> None:
    """iperf3 < 3.11 has no end.sum_received for UDP (derived: the captured file without it):
    what arrived is the sender's bytes less the receiver's count of lost datagrams."""
    doc = json.loads(data("iperf3_udp_loss.json"))
    del doc["end"]["sum_sent"], doc["end"]["sum_received"]
    r = parse_iperf3_json(json.dumps(doc))
    s = doc["end"]["sum"]
    arrived = (s["packets"] - s["lost_packets"]) / s["packets"]
    assert r.throughput_kbps == round(s["bits_per_second"] * arrived / 1000)
    assert r.loss_rate == pytest.approx(s["lost_percent"])


def test_iperf3_error_and_garbage() -> None:
    with pytest.raises(MeasureError, match="^iperf3: unable to connect to server: Connection refused$"):
        parse_iperf3_json(data("iperf3_refused.json"))
    with pytest.raises(MeasureError, match="^iperf3: iperf3: error - unable to connect"):
        parse_iperf3_json("iperf3: error - unable to connect to server\n")


def test_iperf2_tcp_csv() -> None:
    r = parse_iperf2_csv(data("iperf2_tcp.csv"))
    assert r.throughput_kbps == round(20764198686 / 1000) and r.loss_rate is None


def test_iperf2_udp_loss_comes_from_the_server_report() -> None:
    client = parse_iperf2_csv(data("iperf2_udp_client.csv"))
    assert client.loss_rate is None  # iperf 2.1 client line: total = -1
    server = parse_iperf2_csv(data("iperf2_udp_server.csv"))
    assert (server.lost, server.total) == (7175, 263588)
    assert server.loss_rate == pytest.approx(7175 * 100 / 263588)
    assert server.jitter_ms == 0.001


def test_iperf2_error_uses_stderr() -> None:
    with pytest.raises(MeasureError, match="^iperf: tcp connect failed: Connection refused$"):
        parse_iperf2_csv(data("iperf2_refused.csv"), data("iperf2_refused.stderr"))


@pytest.mark.parametrize("name, size, tx, rx, avg", [
    ("ping_ok.txt", 64, 5, 5, 0.036),
    ("ping_ok_391.txt", 391, 10, 10, 0.080),
    ("ping_ok_1500.txt", 1500, 5, 5, 0.036),
    ("ping_partial_loss.txt", 64, 20, 7, 0.057),
    ("ping_iputils_64.txt", 64, 10, 10, 0.040),
    ("ping_iputils_391.txt", 391, 10, 10, 0.054),
    ("ping_iputils_1500.txt", 1500, 10, 10, 0.057),
])
def test_ping(name: str, size: int, tx: int, rx: int, avg: float) -> None:
    r = parse_ping(data(name), size)
    assert (r.packet_size, r.tx_packets, r.rx_packets, r.rtt_avg_ms) == (size, tx, rx, avg)
    assert r.rtt_min_ms <= r.rtt_avg_ms <= r.rtt_max_ms and r.rtt_stddev is not None


@pytest.mark.parametrize("size, avg, low, high", [
    (64, 0.063, 0.037, 0.110), (391, 0.058, 0.040, 0.079), (1500, 0.085, 0.066, 0.144),
])
def test_busybox_ping_has_no_stddev(size: int, avg: float, low: float, high: float) -> None:
    """busybox ping (CirrOS, the usual DevStack image) prints min/avg/max only."""
    r = parse_ping(data(f"ping_busybox_{size}.txt"), size)
    assert (r.tx_packets, r.rx_packets) == (10, 10)
    assert (r.rtt_avg_ms, r.rtt_min_ms, r.rtt_max_ms, r.rtt_stddev) == (avg, low, high, None)


@pytest.mark.parametrize("name", ["ping_total_loss.txt", "ping_host_unreachable.txt",
                                  "ping_iputils_total_loss.txt", "ping_busybox_total_loss.txt"])
def test_ping_total_loss_has_no_rtt(name: str) -> None:
    r = parse_ping(data(name), 64)
    assert r.rx_packets == 0 and r.tx_packets > 0
    assert (r.rtt_min_ms, r.rtt_avg_ms, r.rtt_max_ms, r.rtt_stddev) == (None,) * 4


@pytest.mark.parametrize("name, text", [
    ("ping_unreachable_network.txt", "ping: ping: connect: Network is unreachable"),
    ("ping_unknown_host.txt", "ping: ping: no-such-host.invalid: Temporary failure"),
    ("ping_busybox_unreachable_network.txt", "ping: PING 10.9.9.9 (10.9.9.9): 64 data bytes ping: sendto: Network"),
    ("ping_busybox_unknown_host.txt", "ping: ping: bad address 'no-such-host.invalid'"),
])
def test_ping_errors(name: str, text: str) -> None:
    with pytest.raises(MeasureError) as info:
        parse_ping(data(name), 64)
    assert str(info.value).startswith(text)


def test_os_release() -> None:
    assert parse_os_release(data("os-release-debian12.txt")) == ("debian", "12")
    assert parse_os_release('ID="ubuntu"\nVERSION_ID="14.04"\n') == ("ubuntu", "14.04")
    assert parse_os_release("") == (None, None)
