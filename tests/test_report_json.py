"""The VMTP JSON document, its schema and secret masking."""

import json

import jsonschema
import pytest

from pytest_vmtp.report import vmtp_json
from pytest_vmtp.results import ErrorResult, FlowResult, IcmpResult, PingSizeResult, RateSearch, ThroughputResult


def _flow() -> dict:
    return FlowResult(
        scenario="2.1", name="Same Network, Fixed IP, Inter-node, TCP",
        desc="VM to VM same network fixed IP (inter-node)", status="PASSED",
        ip_from="192.168.1.5", ip_to="192.168.1.4",
        results=[
            ThroughputResult("TCP", "nuttcp-8.2.2", 9_000_000, pkt_size=65536, rtt_ms=0.3, retrans=0),
            IcmpResult([PingSizeResult(64, 10, 10, 0.1, 0.2, 0.3, 0.01)]),
            ErrorResult("UDP", "nuttcp-8.2.2", "server did not answer"),
        ],
    ).to_json()


def test_document_validates_and_masks(tmp_path):
    doc = vmtp_json.build_document(
        [_flow()], "abc1234", {"os_password": "hunter2", "hosts": ["root@h,password=hunter2"]},
        "nightly", {"auth_url": "http://127.0.0.1:5000/identity/v3", "cloud": "local"})
    out = tmp_path / "r.json"
    vmtp_json.write(doc, out)
    text = out.read_text()
    assert "hunter2" not in text
    loaded = json.loads(text)
    assert loaded["args"]["os_password"] == "<MASKED>"
    assert loaded["auth_url"].endswith("/v3")
    assert loaded["units"]["throughput"].startswith("kbit/s")
    assert text.index('"args"') < text.index('"date"')  # sorted keys, like VMTP


def test_schema_rejects_bad_flows():
    doc = vmtp_json.build_document([_flow()], "abc1234", {}, None)
    doc["flows"][0]["results"][0]["loss_rate"] = 140
    with pytest.raises(jsonschema.ValidationError):
        vmtp_json.validate(doc)
    doc = vmtp_json.build_document([_flow()], "abc1234", {}, None)
    doc["flows"][0]["status"] = "OK"
    with pytest.raises(jsonschema.ValidationError):
        vmtp_json.validate(doc)


def _searched_udp() -> dict:
    return FlowResult(
        scenario="1.2", name="Same Network, Fixed IP, Intra-node, UDP", desc="VM to VM", status="PASSED",
        results=[
            ThroughputResult("UDP", "nuttcp-6.1.2", 739_516, pkt_size=1024, loss_rate=6.2,
                             search_rate_kbps=771_828, loss_in_target=False,
                             rate_search=RateSearch("converged", [2.0, 5.0], 1, [
                                 {"rate_kbps": 771_828, "throughput_kbps": 748_000, "loss_rate": 3.0}])),
            ThroughputResult("TCP", "iperf3-3.12", 9_000_000, pkt_size=65536, retrans=0, run=1),
            IcmpResult([PingSizeResult(64, 10, 10, 0.037, 0.063, 0.11, None)], ping_interval_s=0.2),
        ],
    ).to_json()


def test_schema_has_the_search_the_runs_and_the_ping_interval():
    doc = vmtp_json.build_document([_searched_udp()], "abc1234", {}, None)
    vmtp_json.validate(doc)
    udp = doc["flows"][0]["results"][0]
    assert "bandwidth_limit_kbps" not in udp and udp["search_rate_kbps"] == 771_828
    assert udp["rate_search"]["loss_target"] == [2.0, 5.0]


@pytest.mark.parametrize("path, value", [
    (("rate_search", "outcome"), "found"),
    (("rate_search", "probes"), []),
    (("loss_in_target",), "no"),
    (("run",), 0),
])
def test_schema_rejects_bad_search_and_run_fields(path, value):
    doc = vmtp_json.build_document([_searched_udp()], "abc1234", {}, None)
    item = doc["flows"][0]["results"][0]
    *parents, key = path
    for p in parents:
        item = item[p]
    item[key] = value
    with pytest.raises(jsonschema.ValidationError):
        vmtp_json.validate(doc)


def test_schema_wants_the_whole_search_story():
    doc = vmtp_json.build_document([_searched_udp()], "abc1234", {}, None)
    del doc["flows"][0]["results"][0]["rate_search"]
    with pytest.raises(jsonschema.ValidationError):
        vmtp_json.validate(doc)


def _with_cpu() -> dict:
    return FlowResult(
        scenario="2.1", name="Same Network, Fixed IP, Inter-node, TCP", desc="VM to VM", status="PASSED",
        warnings=["host CPU: gmond 10.0.0.9:8649: cannot read it: Connection refused"],
        results=[ThroughputResult("TCP", "nuttcp-6.1.2", 9_000_000, pkt_size=65536, run=1,
                                  cpu_load={"198.51.100.11": [0.42, 1.1], "198.51.100.12": [0.4]},
                                  tool_cpu_pct={"tx": 78.0, "rx": 44.0})],
    ).to_json()


def test_host_cpu_is_vmtps_lists_and_the_tools_own_cpu_has_its_field():
    doc = vmtp_json.build_document([_with_cpu()], "abc1234", {}, None)
    vmtp_json.validate(doc)
    item = doc["flows"][0]["results"][0]
    assert item["cpu_load"] == {"198.51.100.11": [0.42, 1.1], "198.51.100.12": [0.4]}
    assert item["tool_cpu_pct"] == {"tx": 78.0, "rx": 44.0}
    assert doc["flows"][0]["warnings"] == ["host CPU: gmond 10.0.0.9:8649: cannot read it: Connection refused"]
    assert "warnings" not in _flow()  # none: no key


@pytest.mark.parametrize("field, value", [
    ("cpu_load", {"tx": 78.0, "rx": 44.0}),  # the old shape: the tool's own figures
    ("cpu_load", {"198.51.100.11": []}),
    ("tool_cpu_pct", {"sender": 3}),
])
def test_schema_rejects_other_cpu_shapes(field, value):
    doc = vmtp_json.build_document([_with_cpu()], "abc1234", {}, None)
    doc["flows"][0]["results"][0][field] = value
    with pytest.raises(jsonschema.ValidationError):
        vmtp_json.validate(doc)
