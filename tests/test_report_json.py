"""The VMTP JSON document, its schema and secret masking."""

import json

import jsonschema
import pytest

from pytest_vmtp.report import vmtp_json
from pytest_vmtp.results import ErrorResult, FlowResult, IcmpResult, PingSizeResult, ThroughputResult


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
