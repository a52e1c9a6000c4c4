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
    ({"multicast_tool": "netperf"}, "multicast_tool 'netperf': choose one of auto, nuttcp, iperf"),
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


# --- hostile values: refused where they enter, naming the option or key ---------------------
HOSTILE = [
    ({"hosts": ["root@1.2.3.4; rm -rf /"]}, "--vmtp-host"),
    ({"hosts": ["root@$(reboot)"]}, "--vmtp-host"),
    ({"hosts": ["root@1.2.3.4\nreboot"]}, "--vmtp-host"),
    ({"hosts": ["ro;ot@1.2.3.4"]}, "--vmtp-host"),
    ({"hosts": ["root@1.2.3.4,jump=admin@$(id)"]}, "--vmtp-host"),
    ({"external_host": "root@`reboot`"}, "--vmtp-external-host"),
    ({"external_host": "root@10.0.0.1 -oProxyCommand=id"}, "--vmtp-external-host"),
    ({"multicast_group": "231.1.1.1 -x"}, "multicast_group"),
    ({"multicast_group": "$(reboot)"}, "multicast_group"),
    ({"multicast_group": "10.1.1.1"}, "multicast_group"),
    ({"multicast_group": "231.1.1.1\n"}, "multicast_group"),
    ({"tcp_buffer": "128K;id"}, "tcp_buffer"),
    ({"udp_buffer": "$(reboot)"}, "udp_buffer"),
    ({"udp_buffer": "64K\nid"}, "udp_buffer"),
    ({"nuttcp_data_port": "5001;id"}, "nuttcp_data_port"),
    ({"nuttcp_control_port": 70000}, "nuttcp_control_port"),
    ({"iperf_port": 0}, "iperf_port"),
    ({"udp_pkt_sizes": "128;id"}, "--vmtp-udp-pkt-sizes"),
    ({"icmp_pkt_sizes": "64\n"}, "--vmtp-icmp-pkt-sizes"),
    ({"tcp_pkt_sizes": "$(reboot)"}, "--vmtp-tcp-pkt-sizes"),
    ({"bandwidth": "1M;id"}, "bandwidth"),
    ({"ping_interval_s": "nan"}, "ping_interval_s"),
    ({"ping_interval_s": "inf"}, "ping_interval_s"),
    ({"cidrs": ["192.168.1.0/24", "10.0.0.0/8;id"]}, "cidrs"),
    ({"cidrs": ["192.168.1.0/24"]}, "cidrs"),
    ({"flow_sources": ["0.0.0.0/0;id"]}, "flow_sources"),
    ({"flow_sources": "10.0.0.0/8"}, "flow_sources"),
    ({"ssh_from": "anywhere"}, "ssh_from"),
    ({"ssh_from": ["192.0.2.7/32", "$(id)"]}, "ssh_from"),
    ({"accept_new_host_keys": "yes"}, "accept_new_host_keys"),
    ({"gmond": ["10.0.0.5:86a9"]}, "--vmtp-gmond"),
    ({"gmond": ["10.0.0.5;id"]}, "--vmtp-gmond"),
    ({"gmond": ["fe80::1:8649:x"]}, "--vmtp-gmond"),
    ({"gmond_interval_s": 0}, "gmond_interval_s"),
    ({"gmond_port": 70000}, "gmond_port"),
    ({"pairs": 4, "footprint": "minimal"}, "--vmtp-pairs"),  # the pairs boot together: no room to make
]


@pytest.mark.parametrize("overrides,name", HOSTILE, ids=[repr(o) for o, _ in HOSTILE])
def test_hostile_values_are_refused_in_one_line_naming_the_key(overrides, name):
    with pytest.raises(ConfigError) as exc:
        build(overrides)
    message = str(exc.value)
    assert message.startswith(name), message
    assert "\n" not in message


def test_hostile_values_from_a_config_file_name_the_key(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text('multicast_group: "231.1.1.1 -x"\n')
    with pytest.raises(ConfigError, match=r"^multicast_group '231.1.1.1 -x': not an IP address$"):
        build({}, str(f))


def test_good_values_are_kept(tmp_path):
    cfg = build({"multicast_group": "239.9.9.9", "tcp_buffer": "256K", "udp_buffer": 65536,
                 "hosts": ["root@[2001:db8::5]:2222", "ubuntu@compute-1.example.org"]})
    assert cfg.measure.multicast_group == "239.9.9.9"
    assert (cfg.measure.tcp_buffer, cfg.measure.udp_buffer) == ("256K", "65536")
    assert cfg.hosts == ("root@[2001:db8::5]:2222", "ubuntu@compute-1.example.org")


@pytest.mark.parametrize("args, option", [
    (["--vmtp-host", "root@1.2.3.4; rm -rf /"], "--vmtp-host"),
    (["--vmtp-external-host", "root@$(reboot)"], "--vmtp-external-host"),
    (["--vmtp-udp-pkt-sizes", "128;id"], "--vmtp-udp-pkt-sizes"),
    (["--vmtp-gmond", "10.0.0.5", "--vmtp-gmond", "10.0.0.6:0"], "--vmtp-gmond"),
    (["--vmtp-multicast-group", "10.1.1.1"], "multicast_group"),
])
def test_hostile_options_are_one_usage_error_line(pytester: pytest.Pytester, args, option):
    res = pytester.runpytest_subprocess("--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
                                        "--co", "-q", *args)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in res.errlines if line.strip()]
    assert len(errors) == 1 and errors[0].startswith(f"ERROR: {option} "), res.errlines
    assert "Traceback" not in res.stdout.str() + res.stderr.str()


def test_hostile_config_file_is_one_usage_error_line(pytester: pytest.Pytester):
    bad = pytester.path / "bad.yaml"
    bad.write_text("tcp_buffer: '128K;id'\n")
    res = pytester.runpytest_subprocess("--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
                                        "--co", "-q", f"--vmtp-config={bad}")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in res.errlines if line.strip()] == [
        "ERROR: tcp_buffer '128K;id': use a size in bytes, K or M, such as 128K or 4M"]


def test_host_key_and_security_group_settings():
    assert build({}).host_key_policy == "strict"
    assert build({"accept_new_host_keys": True}).host_key_policy == "accept-new"
    cfg = build({"flow_sources": ["198.51.100.7", "this-machine"], "ssh_from": ["192.0.2.0/28"]})
    assert cfg.raw["flow_sources"] == ["198.51.100.7", "this-machine"] and cfg.raw["ssh_from"] == ["192.0.2.0/28"]
    assert build({}).raw["ssh_from"] == "auto"


def test_gmonds_default_port_and_sampling():
    cfg = build({"gmond": ["10.0.0.5", "10.0.0.6:8650", "[2001:db8::5]:9", "2001:db8::6", "10.0.0.5"]})
    assert [t.label for t in cfg.host_cpu.targets] == [
        "10.0.0.5:8649", "10.0.0.6:8650", "[2001:db8::5]:9", "[2001:db8::6]:8649"]  # each once
    assert (cfg.host_cpu.interval_s, cfg.host_cpu.max_samples, cfg.host_cpu.timeout_s) == (2.0, 20, 2.0)
    assert build({"gmond": "10.0.0.7", "gmond_port": 8650}).host_cpu.targets[0].label == "10.0.0.7:8650"
    assert build({}).host_cpu.targets == ()
