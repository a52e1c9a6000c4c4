"""VMTP's summary block and table layout, and the Data column."""

from pathlib import Path

from pytest_vmtp.measure.parse_ping import parse_ping
from pytest_vmtp.report.collector import ResultCollector
from pytest_vmtp.report.data_column import data_for
from pytest_vmtp.report.summary import SummaryRow, render
from pytest_vmtp.results import FlowResult, IcmpResult


def test_layout_like_vmtp():
    text = render([
        SummaryRow("1.1", "Same Network, Fixed IP, Intra-node, TCP", "PASSED",
                   {"tp_kbps": "19262752", "rtt_ms": "0.38"}),
        SummaryRow("1.2", "Same Network, Fixed IP, Intra-node, UDP", "FAILED", {}, "nuttcp not found"),
        SummaryRow("7.1", "Native Throughput, TCP", "SKIPPED", {}, "no host"),
    ])
    lines = text.splitlines()
    assert lines[:6] == [
        "Summary of results", "==================", "Total Scenarios:   3",
        "Passed Scenarios:  1 [50.00%]", "Failed Scenarios:  1 [50.00%]", "Skipped Scenarios: 1",
    ]
    assert lines[7].startswith("| Scenario | Scenario Name ")
    assert "| Functional Status | Data" in lines[7]
    assert lines[9].startswith("| 1.1      | Same Network, Fixed IP, Intra-node, TCP | PASSED            |")
    assert "{} (no host)" in lines[11]
    assert lines[6] == lines[8] == lines[-1]  # rules only above, under the header, at the end


def test_long_data_wraps_at_80():
    udp = {s: {"tp_kbps": 1234567, "loss_rate": 2.5} for s in (128, 1024, 8192)}
    text = render([SummaryRow("1.2", "Same Network, Fixed IP, Intra-node, UDP", "PASSED", udp)])
    body = [ln for ln in text.splitlines() if ln.startswith("|")][1:]
    assert len(body) == 2 and body[1].startswith("|          |")
    assert all(len(ln) == len(body[0]) for ln in body)


def test_data_column():
    tcp = [{"protocol": "TCP", "tool": "nuttcp", "throughput_kbps": 1000, "rtt_ms": 0.5, "run": 1},
           {"protocol": "TCP", "tool": "nuttcp", "throughput_kbps": 3000, "rtt_ms": 1.5, "run": 2}]
    assert data_for("tcp", tcp) == {"tp_kbps": "2000", "tp_kbps_min": "1000", "tp_kbps_max": "3000",
                                    "rtt_ms": "1"}
    udp = [{"protocol": "UDP", "tool": "nuttcp", "throughput_kbps": 10, "pkt_size": 128, "loss_rate": 3.1}]
    assert data_for("udp", udp) == {128: {"tp_kbps": 10, "loss_rate": 3.1}}


def _ping(size, tx, rx, avg=None, low=None, high=None, sd=None):
    return {"packet_size": size, "tx_packets": tx, "rx_packets": rx, "rtt_min_ms": low,
            "rtt_avg_ms": avg, "rtt_max_ms": high, "rtt_stddev": sd}


def test_icmp_data_shows_each_size_as_vmtp():
    """VMTP: {'rtt avg/min/max/stddev msec': {'64-byte': 'avg/min/max/stddev', ...}}."""
    icmp = [{"protocol": "ICMP", "tool": "ping", "results": [
        _ping(64, 10, 10, 0.2, 0.1, 0.4, 0.05), _ping(391, 10, 10, 0.3, 0.2, 0.5, 0.06),
        _ping(1500, 10, 0)]}]
    assert data_for("icmp", icmp) == {"rtt avg/min/max/stddev msec": {
        "64-byte": "0.2/0.1/0.4/0.05", "391-byte": "0.3/0.2/0.5/0.06", "1500-byte": "no reply (0/10)"}}


def test_vmtp_1_icmp_items_render():
    """VMTP 1.x wrote one ICMP item with string figures and no sizes (the history reads them)."""
    icmp = [{"protocol": "ICMP", "tool": "ping", "rtt_avg_ms": "0.321", "rtt_min_ms": "0.187",
             "rtt_max_ms": "0.741", "rtt_stddev": "0.14"}]
    assert data_for("icmp", icmp) == {"rtt avg/min/max/stddev msec": {"all": "0.321/0.187/0.741/0.14"}}


def test_any_subset_of_ping_statistics_renders():
    """busybox ping (CirrOS) has no stddev; a partial report may lack more."""
    icmp = [{"protocol": "ICMP", "tool": "ping", "results": [
        _ping(64, 10, 10, 0.063, 0.037, 0.11), _ping(391, 10, 9, 0.058), _ping(1500, 0, 0)]}]
    assert data_for("icmp", icmp)["rtt avg/min/max/stddev msec"] == {
        "64-byte": "0.063/0.037/0.11/-", "391-byte": "0.058/-/-/-", "1500-byte": "no reply (0/0)"}


def test_terminal_summary_with_busybox_ping():
    """The collector's table at the end of a run (what its pytest_terminal_summary prints):
    it crashed (INTERNALERROR, no table) on a flow whose ping had no stddev. The flow comes
    from busybox's real output."""
    text = (Path(__file__).parent / "data" / "ping_busybox_64.txt").read_text()
    flow = FlowResult("1.3", "Same Network, Fixed IP, Intra-node, ICMP", "VM to VM", "PASSED",
                      results=[IcmpResult([parse_ping(text, 64)])]).to_json()
    collector = ResultCollector(run_id="abc1234", multicast=False, protocols=("tcp", "udp", "icmp"), args={})

    class Report:
        vmtp = {"scenario": "1.3", "flow": flow}
        when, outcome, passed, failed, skipped, longrepr = "call", "passed", True, False, False, None

    collector.pytest_runtest_logreport(Report())  # type: ignore[arg-type]
    table = render(collector.summary_rows())
    assert "| 1.3      |" in table and "'64-byte': '0.063/0.037/0.11/-'" in table


def test_udp_out_of_the_window_is_said():
    item = {"protocol": "UDP", "tool": "nuttcp", "throughput_kbps": 788996, "pkt_size": 1024,
            "loss_rate": 9.6407, "search_rate_kbps": 870000, "loss_in_target": False,
            "rate_search": {"outcome": "converged", "loss_target": [2.0, 5.0], "probe_s": 1,
                            "probes": [{"rate_kbps": 870000, "throughput_kbps": 840000, "loss_rate": 3.4}]}}
    assert data_for("udp", [item]) == {1024: {"tp_kbps": 788996, "loss_rate": 9.6407,
                                              "loss_target": "missed 2-5%"}}
    item["rate_search"]["outcome"] = "sender-limited"
    item["loss_rate"] = 0.3
    assert data_for("udp", [item])[1024]["loss_target"] == "missed 2-5% (sender-limited)"
    item["loss_in_target"] = True
    assert "loss_target" not in data_for("udp", [item])[1024]
