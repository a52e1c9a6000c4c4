"""Gate thresholds and SLAs as written in a --vmtp-config file: parsing and one-line errors."""

from __future__ import annotations

import pytest

from pytest_vmtp.gate import rules

DEFAULTS = {"tp_kbps": "-10%", "rtt_avg_ms": "+25%", "loss_rate": "+2"}


def _build(text: str):
    import yaml

    data = yaml.safe_load(text) or {}
    return rules.build(data.get("gate"), data.get("sla"), "my.yaml", text, DEFAULTS)


def test_defaults_and_overrides_by_row_and_marker():
    r = _build("""
gate:
  thresholds: {rtt_avg_ms: +50%}
  rules:
    - {rows: "2.*", tp_kbps: -20%}
    - {marker: udp, loss_rate: +5}
""")
    base = r.thresholds_for("1.1", ("tcp",))
    assert base["tp_kbps"] == rules.Threshold(0.10, True)
    assert base["rtt_avg_ms"] == rules.Threshold(0.50, True)
    assert r.thresholds_for("2.1", ("tcp",))["tp_kbps"] == rules.Threshold(0.20, True)
    assert r.thresholds_for("4.2", ("udp",))["loss_rate"] == rules.Threshold(5.0, False)
    assert r.thresholds_for("4.2", ("udp",))["tp_kbps"] == rules.Threshold(0.10, True)


def test_sla_checks_select_rows_and_read_units():
    r = _build("""
sla:
  - "tp_kbps >= 5G"
  - {marker: udp, check: "loss_rate <= 2"}
  - {rows: "[1-6].3", check: "rtt_avg_ms < 1.0"}
""")
    assert [s.text for s in r.slas_for("1.1", ("tcp",))] == ["tp_kbps >= 5G"]
    assert r.slas[0].bound == 5_000_000 and r.slas[0].holds(5_000_000) and not r.slas[0].holds(4_999_999)
    assert [s.metric for s in r.slas_for("2.2", ("udp",))] == ["tp_kbps", "loss_rate"]
    assert [s.metric for s in r.slas_for("3.3", ("icmp",))] == ["tp_kbps", "rtt_avg_ms"]
    assert [s.metric for s in r.slas_for("7.3", ("icmp",))] == ["tp_kbps"]


@pytest.mark.parametrize("text,message", [
    ('sla:\n  - "tp_kbps >> 5G"\n', "my.yaml:2: SLA 'tp_kbps >> 5G': write '<metric> <op> <value>'"),
    ('sla:\n  - "ok"\n  - "speed >= 5G"\n', "my.yaml:2: SLA 'ok'"),
    ('sla:\n  - "tp_kbps >= 1G"\n  - "speed >= 5G"\n', "my.yaml:3: SLA 'speed >= 5G': unknown metric 'speed'"),
    ('sla:\n  - "loss_rate <= 2G"\n', "my.yaml:2: SLA 'loss_rate <= 2G': only tp_kbps and pair_min_kbps take"),
    ('sla:\n  - {marker: udp}\n', "my.yaml:2: an SLA is a check such as"),
    ('sla: "tp_kbps >= 1G"\n', "my.yaml:1: sla: expected a list"),
    ('gate:\n  thresholds:\n    tp_kbps: +10%\n', "my.yaml:3: tp_kbps: '+10%' points the wrong way"),
    ('gate:\n  thresholds:\n    tp_kbps: lots\n', "my.yaml:3: tp_kbps: 'lots' is not a threshold"),
    ('gate:\n  rules:\n    - {rows: "2.*", speed: -5%}\n', "my.yaml:3: unknown metric 'speed'"),
    ('gate:\n  rules:\n    - "2.* -5%"\n', "my.yaml:3: a gate rule is a mapping"),
    ('gate:\n  limits: {}\n', "my.yaml:2: gate: unknown key 'limits'"),
    ('gate:\n  noise_floor:\n    rtt_avg_ms: -1\n', "my.yaml:3: noise_floor: rtt_avg_ms: expected a number >= 0"),
    ('gate:\n  noise_floor:\n    latency: 1\n', "my.yaml:3: noise_floor: unknown metric 'latency'"),
])
def test_bad_rules_name_file_and_line(text, message):
    with pytest.raises(rules.RuleError) as err:
        _build(text)
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)
