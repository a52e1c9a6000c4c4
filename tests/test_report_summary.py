"""VMTP's summary block and table layout, and the Data column."""

from pytest_vmtp.report.data_column import data_for
from pytest_vmtp.report.summary import SummaryRow, render


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
    tcp = [{"protocol": "TCP", "tool": "nuttcp", "throughput_kbps": 1000, "rtt_ms": 0.5},
           {"protocol": "TCP", "tool": "nuttcp", "throughput_kbps": 3000, "rtt_ms": 1.5}]
    assert data_for("tcp", tcp) == {"tp_kbps": "2000", "rtt_ms": "1"}
    udp = [{"protocol": "UDP", "tool": "nuttcp", "throughput_kbps": 10, "pkt_size": 128, "loss_rate": 3.1}]
    assert data_for("udp", udp) == {128: {"tp_kbps": 10, "loss_rate": 3.1}}
    icmp = [{"protocol": "ICMP", "tool": "ping", "results": [
        {"packet_size": 64, "tx_packets": 10, "rx_packets": 10, "rtt_min_ms": 0.1,
         "rtt_avg_ms": 0.2, "rtt_max_ms": 0.4, "rtt_stddev": 0.05},
        {"packet_size": 1500, "tx_packets": 10, "rx_packets": 0, "rtt_min_ms": None,
         "rtt_avg_ms": None, "rtt_max_ms": None, "rtt_stddev": None}]}]
    assert data_for("icmp", icmp) == {"rtt_avg_ms": "0.2", "rtt_min_ms": "0.1",
                                      "rtt_max_ms": "0.4", "rtt_stddev": "0.05"}
