"""defaults.yaml + --vmtp-config + options -> VmtpConfig, and one-line errors."""

import pytest

from pytest_vmtp.config import ConfigError, build, parse_bandwidth


def test_defaults_match_vmtp(monkeypatch):
    monkeypatch.delenv("OS_CLOUD", raising=False)
    cfg = build({})
    m = cfg.measure
    assert (m.tool, m.duration_s, m.tcp_runs) == ("nuttcp", 10, 3)
    assert m.udp_pkt_sizes == (128, 1024, 8192)
    assert m.icmp_pkt_sizes == (64, 391, 1500)
    assert m.bandwidth_kbps is None
    assert cfg.protocols == ("tcp", "udp", "icmp")
    assert cfg.cloud_name == "local"


def test_cloud_name_follows_os_cloud_like_the_openstack_cli(monkeypatch):
    monkeypatch.setenv("OS_CLOUD", "prod")
    assert build({}).cloud_name == "prod"
    assert build({"cloud": "staging"}).cloud_name == "staging"
    monkeypatch.delenv("OS_CLOUD")
    assert build({}).is_local_cloud


def test_file_then_options_override(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("duration_s: 3\nudp_pkt_sizes: [512]\ntool: iperf3\n")
    cfg = build({"tool": "iperf", "udp_pkt_sizes": "64,1400"}, str(f))
    assert cfg.measure.duration_s == 3
    assert cfg.measure.tool == "iperf"
    assert cfg.measure.udp_pkt_sizes == (64, 1400)


@pytest.mark.parametrize("text,kbps", [("500M", 500_000), ("2G", 2_000_000), ("64k", 64), (None, None)])
def test_bandwidth(text, kbps):
    assert parse_bandwidth(text) == kbps


@pytest.mark.parametrize("overrides,fragment", [
    ({"tool": "netperf"}, "--vmtp-tool 'netperf': choose one of nuttcp, iperf3, iperf"),
    ({"protocols": "X"}, "--vmtp-protocols"),
    ({"bandwidth": "fast"}, "use a number with K, M or G"),
    ({"udp_pkt_sizes": "a,b"}, "comma-separated list"),
    ({"duration_s": -1}, "--vmtp-time"),
    ({"hosts": ["a", "b", "c"]}, "give one host"),
])
def test_bad_values_give_one_line(overrides, fragment):
    with pytest.raises(ConfigError) as exc:
        build(overrides)
    assert fragment in str(exc.value)
    assert "\n" not in str(exc.value)


def test_bad_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        build({}, str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("tool: [nuttcp\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        build({}, str(bad))
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("durration_s: 3\n")
    with pytest.raises(ConfigError, match="unknown key\\(s\\) durration_s"):
        build({}, str(unknown))
