"""JUnit properties and the pytest-html metrics table of one flow."""

from pytest_vmtp.report.metrics import html_table, properties
from pytest_vmtp.results import FlowResult, IcmpResult, PingSizeResult, RateSearch, ThroughputResult


def _flow(results) -> dict:
    return FlowResult(scenario="1.1", name="Same Network, Fixed IP, Intra-node, TCP", desc="VM to VM",
                      status="PASSED", results=results).to_json()


def test_each_tcp_run_has_its_properties_and_the_row_its_mean_min_max():
    """VMTP keeps every TCP run; 0, 0 and 1 retransmissions are not 'retrans 0'."""
    runs = [ThroughputResult("TCP", "iperf3-3.12", kbps, pkt_size=65536, rtt_ms=rtt, retrans=retrans, run=n)
            for n, (kbps, rtt, retrans) in enumerate([(9_000_000, 0.1, 0), (8_000_000, 0.3, 0),
                                                      (10_000_000, 0.2, 1)], 1)]
    props = dict(properties(_flow(runs)))
    assert [props[f"tcp.65536.run{n}.retrans"] for n in (1, 2, 3)] == ["0", "0", "1"]
    assert [props[f"tcp.65536.run{n}.rtt_ms"] for n in (1, 2, 3)] == ["0.1", "0.3", "0.2"]
    assert props["tcp.65536.retrans_total"] == "1" and props["tcp.65536.runs"] == "3"
    assert props["tcp.65536.throughput_kbps"] == "9000000"
    assert (props["tcp.65536.throughput_kbps_min"], props["tcp.65536.throughput_kbps_max"]) == (
        "8000000", "10000000")
    assert props["tcp.65536.rtt_ms"] == "0.2"
    assert "tcp.65536.retrans" not in props  # no average of counts
    page = html_table(_flow(runs))
    assert page.count("<td>TCP run ") == 3


def test_udp_search_properties():
    item = ThroughputResult(
        "UDP", "nuttcp-6.1.2", 739_516, pkt_size=1024, loss_rate=6.2, search_rate_kbps=771_828,
        loss_in_target=False, rate_search=RateSearch("converged", [2.0, 5.0], 1, [
            {"rate_kbps": 10_000_000, "throughput_kbps": 900_000, "loss_rate": 32.6},
            {"rate_kbps": 771_828, "throughput_kbps": 748_000, "loss_rate": 3.0}]))
    props = dict(properties(_flow([item])))
    assert props["udp.1024.search_rate_kbps"] == "771828"
    assert props["udp.1024.loss_in_target"] == "false"
    assert props["udp.1024.search_outcome"] == "converged" and props["udp.1024.search_probes"] == "2"
    assert "udp.1024.bandwidth_limit_kbps" not in props
    page = html_table(_flow([item]))
    assert "771828 (searched)" in page and "6.2 (outside 2.0-5.0)" in page


def test_icmp_interval_and_busybox_sizes():
    icmp = IcmpResult([PingSizeResult(64, 10, 10, 0.037, 0.063, 0.11, None)], ping_interval_s=0.2)
    props = dict(properties(_flow([icmp])))
    assert props["icmp.ping_interval_s"] == "0.2" and props["icmp.64.rtt_avg_ms"] == "0.063"
    assert "icmp.64.rtt_stddev" not in props
    assert "ping every 0.2 s" in html_table(_flow([icmp]))


def test_host_cpu_and_the_tools_own_cpu_as_properties_and_in_the_table():
    runs = [ThroughputResult("TCP", "nuttcp-6.1.2", 9_000_000, pkt_size=65536, run=n,
                             cpu_load={"198.51.100.11": loads}, tool_cpu_pct={"tx": 78.0, "rx": 44.0})
            for n, loads in ((1, [0.42, 1.1]), (2, [1.3, 0.9]))]
    flow = FlowResult(scenario="2.1", name="n", desc="VM to VM", status="PASSED", results=runs,
                      warnings=["host CPU: gmond 10.0.0.9:8649: cannot read it: Connection refused"]).to_json()
    props = properties(flow)
    named = dict(props)
    assert named["tcp.65536.run1.cpu_load.198.51.100.11"] == "0.42 1.1"
    assert named["tcp.65536.run2.tool_cpu_tx"] == "78.0" and named["tcp.65536.run2.tool_cpu_rx"] == "44.0"
    assert named["tcp.65536.cpu_load_max.198.51.100.11"] == "1.3"  # the peak over the runs
    assert ("vmtp.warning", "host CPU: gmond 10.0.0.9:8649: cannot read it: Connection refused") in props
    page = html_table(flow)
    assert "198.51.100.11: 0.42-1.1 (2)" in page and "nuttcp-6.1.2 (78.0/44.0)" in page
    assert "WARNING host CPU: gmond 10.0.0.9:8649" in page


def test_an_older_documents_tool_cpu_under_cpu_load_is_not_host_cpu():
    old = _flow([])
    old["results"] = [{"protocol": "TCP", "tool": "nuttcp-6.1.2", "throughput_kbps": 9_000_000,
                       "pkt_size": 65536, "run": 1, "cpu_load": {"tx": 78.0, "rx": 44.0}}]
    assert not [name for name, _ in properties(old) if "cpu" in name]
    assert "tx:" not in html_table(old)


def test_multicast_properties_say_what_the_tool_did():
    """Jenkins sees the jitter, the group used beside the one asked, and why they differ."""
    item = ThroughputResult(
        "Multicast", "nuttcp-6.1.2", 20_000, pkt_size=1024, loss_rate=0.0, multicast_group="231.18.0.10",
        multicast_group_asked="231.1.1.1", note="nuttcp-6.1.2 has neither -g nor -j (nuttcp 7.2.1+)")
    props = dict(properties(_flow([item])))
    assert props["multicast.1024.multicast_group"] == "231.18.0.10"
    assert props["multicast.1024.multicast_group_asked"] == "231.1.1.1"
    assert props["multicast.1024.note"].startswith("nuttcp-6.1.2 has neither")
    assert "multicast.1024.jitter" not in props
    measured = ThroughputResult("Multicast", "iperf-2.1.8", 20_000, pkt_size=1024, loss_rate=0.0, jitter=0.004,
                                jitter_kind="max-interval", multicast_group="231.1.1.1",
                                multicast_group_asked="231.1.1.1")
    props = dict(properties(_flow([measured])))
    assert (props["multicast.1024.jitter"], props["multicast.1024.jitter_kind"]) == ("0.004", "max-interval")
    assert "iperf-2.1.8 (jitter 0.004 ms)" in html_table(_flow([measured]))
