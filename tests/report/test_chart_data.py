"""What the charts show, read from results documents through gate.figures (pure, no browser)."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_vmtp.gate import documents
from pytest_vmtp.report import chart_data, run_info, vmtp_json
from pytest_vmtp.report.chart_data import Run, charts, run_label, unique_labels
from pytest_vmtp.results import ErrorResult, FlowResult, ThroughputResult
from tests.history.docs import make_doc

VMTP_FILE = Path(__file__).parent.parent / "data" / "vmtp_2_5_results.json"


def udp_flow(sid: str, status: str = "PASSED", searched: bool = False) -> dict:
    results = [ThroughputResult("UDP", "nuttcp-8.2.2", 900_000 + size, pkt_size=size, loss_rate=size / 1000)
               for size in (1024, 128)]
    flow = FlowResult(scenario=sid, name=f"row {sid}", desc="VM to VM", status=status, results=results).to_json()
    if searched:  # the rate search's result (measure/ records the searched rate)
        for item in flow["results"]:
            item["search_rate_kbps"] = item["throughput_kbps"]
    return flow


def by_key(runs: list[Run]) -> dict[str, chart_data.Chart]:
    return {c.key: c for c in charts(runs)}


def test_one_series_per_run_with_tcp_runs_as_whiskers():
    before, after = make_doc("aaaaaaa"), make_doc("bbbbbbb", minutes=60, rate=5_000_000)
    got = by_key([Run("before", before), Run("after", after)])
    assert sorted(got) == ["icmp", "tcp"]  # no UDP row: no UDP charts
    tcp = got["tcp"]
    assert tcp.categories == ["2.1"] and tcp.bar_count == 2
    assert [s.label for s in tcp.series] == ["before", "after"]
    bar = tcp.series[1].bars[0]
    assert (bar.value, bar.low, bar.high) == (5.0, 4.9, 5.1)  # Gbit/s, slowest and fastest run
    assert bar.hover == "Same Network, Fixed IP, Inter-node, TCP"
    icmp = got["icmp"].series[0].bars[0]
    assert (icmp.category, icmp.value, icmp.low, icmp.high) == ("2.3 · 64 B", 0.2, 0.1, 0.4)


def test_udp_per_packet_size_in_size_order_loss_also_of_a_searched_rate():
    doc = make_doc("aaaaaaa")
    doc["flows"] += [udp_flow("2.2", searched=True)]
    got = by_key([Run("a", doc)])
    assert got["udp"].categories == ["2.2 · 128 B", "2.2 · 1024 B"]
    assert [b.value for b in got["udp"].series[0].bars] == [900.128, 901.024]  # Mbit/s
    # The gate does not judge the loss a rate search aimed at; the chart shows what was measured.
    assert [b.value for b in got["loss"].series[0].bars] == [0.128, 1.024]


def test_rows_the_gate_failed_are_charted_functional_failures_are_not():
    doc = make_doc("aaaaaaa", failed=True)  # 2.1 FAILED by the gate, with its figures
    doc["flows"][0]["gate"] = {"verdict": "regressed", "baseline": "tag:x (run bbbbbbb)", "checks": []}
    doc["flows"].append(udp_flow("2.2", status="FAILED"))  # e.g. one size refused: partial figures
    doc["flows"].append(FlowResult(scenario="4.2", name="row 4.2", desc="", status="PASSED", results=[
        ErrorResult("UDP", "nuttcp", "connection refused")]).to_json())
    got = by_key([Run("a", doc)])
    assert got["tcp"].categories == ["2.1"]
    assert "udp" not in got and "loss" not in got
    doc["flows"][0]["gate"] = None  # the same row failed by its measurement
    assert "tcp" not in by_key([Run("a", doc)])


def test_rows_in_vmtp_order_and_a_run_without_a_row_has_no_bar_there():
    a = vmtp_json.build_document([udp_flow("6.2"), udp_flow("2.2")], "aaaaaaa", {}, None)
    b = vmtp_json.build_document([udp_flow("2.2")], "bbbbbbb", {}, None)
    udp = by_key([Run("a", a), Run("b", b)])["udp"]
    assert udp.categories == ["2.2 · 128 B", "2.2 · 1024 B", "6.2 · 128 B", "6.2 · 1024 B"]
    assert [len(s.bars) for s in udp.series] == [4, 2]


def test_vmtp_own_file_rows_tools_and_metadata():
    doc = documents.load(str(VMTP_FILE))[0]
    got = by_key([Run(run_label(doc), doc)])
    assert got["tcp"].categories == ["2.1", "8.1", "8.2"]
    assert got["tcp"].series[0].label == "7c1f2a9 2019-04-02 10:11"
    assert got["udp"].categories == ["2.2 · 128 B", "2.2 · 1024 B", "2.2 · 8192 B"]
    assert got["icmp"].bar_count == 3
    head = dict(run_info.headline(doc))
    assert head["version"] == "VMTP 2.5.0" and head["tools"] == "nuttcp-7.3.2, ping"
    assert head["encapsulation"] == "vxlan" and head["OpenStack"] == "queens"
    assert ("cpu_info", "Intel(R) Xeon(R) CPU E5-2665 0 @ 2.40GHz * 32") in run_info.metadata_lines(doc)


def test_several_tcp_sizes_in_a_row_are_told_apart():
    results = [ThroughputResult("TCP", "iperf3-3.12", 1_000_000 * size // 1024, pkt_size=size)
               for size in (1024, 65536)]
    flow = FlowResult(scenario="1.1", name="row", desc="", status="PASSED", results=results).to_json()
    doc = vmtp_json.build_document([flow], "aaaaaaa", {}, None)
    assert by_key([Run("a", doc)])["tcp"].categories == ["1.1 · tcp 1024 B", "1.1 · tcp 65536 B"]


def test_the_same_run_twice_is_two_series():
    assert unique_labels(["a", "b", "a", "a"]) == ["a", "b", "a (2)", "a (3)"]


def test_environment_of_a_cloud_run_names_its_api_versions():
    meta = {"cloud": "prod", "auth_url": "https://keystone:5000/v3", "image": "ubuntu", "api_versions": {
        "compute": {"version": "2.1", "min_microversion": "2.1", "max_microversion": "2.95"},
        "network": {"version": "2.0"}, "image": {"error": "EndpointNotFound"}}}
    doc = vmtp_json.build_document([udp_flow("2.2")], "aaaaaaa", {"password": "x"}, "nightly", meta)
    env = run_info.environment(json.loads(json.dumps(doc)))
    assert env["VMTP API versions"] == {"compute": "2.1 (microversions 2.1-2.95)", "network": "2.0",
                                        "image": "unknown (EndpointNotFound)"}
    assert env["VMTP cloud"] == "prod" and env["VMTP run id"] == "aaaaaaa" and env["VMTP image"] == "ubuntu"
    assert env["VMTP tools"] == "nuttcp-8.2.2" and env["VMTP description"] == "nightly"
