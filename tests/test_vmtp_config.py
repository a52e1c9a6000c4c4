"""VMTP's own config files read as pytest-vmtp settings (pure: YAML files and the merge)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_vmtp.compat import vmtp_config
from pytest_vmtp.config import ConfigError, build, load_defaults

DATA = Path(__file__).parent / "data"
VMTP_DEFAULT_FILE = DATA / "vmtp_cfg.default.yaml"  # VMTP 2.5's cfg.default.yaml, as shipped


def test_the_table_knows_every_key_of_vmtps_defaults_file() -> None:
    keys = set(yaml.safe_load(VMTP_DEFAULT_FILE.read_text()))
    assert keys <= set(vmtp_config.BY_KEY), keys - set(vmtp_config.BY_KEY)
    assert keys == set(vmtp_config.VMTP_DEFAULTS)
    ours = set(load_defaults())
    assert {k.ours for k in vmtp_config.KEYS if k.ours} <= ours  # every key the table maps onto exists


def test_vmtps_whole_defaults_file_is_taken_with_one_line_for_the_keys_without_equivalent() -> None:
    cfg = build({}, str(VMTP_DEFAULT_FILE), read_user_file=False)
    assert cfg.measure.tcp_runs == 3 and cfg.measure.udp_pkt_sizes == (128, 1024, 8192)
    assert cfg.measure.udp_loss_target == (2.0, 5.0) and cfg.measure.bandwidth_kbps is None
    assert cfg.cloud["image"] == "Ubuntu Server 14.04" and cfg.cloud["login_user"] == "ubuntu"
    assert cfg.cloud["flavor"]["name"] == "vmtp" and cfg.cloud["dns_nameservers"] == ["8.8.8.8"]
    assert cfg.cloud["cidrs"] == ["192.168.1.0/24", "192.168.2.0/24"] and cfg.cloud["floating_ips"] is True
    assert cfg.cloud["ipv6_cidrs"] == ["2001:45::/64", "2001:46::/64"] and cfg.cloud["ipv6_mode"] is None
    assert cfg.raw["mongod_db"] == "client_db" and cfg.raw["mongod_collection"] == "pns_web_entry"
    defaults_line = [w for w in cfg.warnings if "at VMTP's defaults" in w]
    assert len(defaults_line) == 1 and "router_name" in defaults_line[0] and "ping_count" in defaults_line[0]
    assert all("(VMTP's format)" in w for w in cfg.warnings)


def test_keys_without_equivalent_are_warnings_naming_them(tmp_path: Path) -> None:
    f = tmp_path / "vmtp.yaml"
    f.write_text("image_name: cirros\nrouter_name: perf-router\nssh_retry_count: 10\n"
                 "fluentd: {logging_tag: vmtp}\ncolour: blue\nvm_bandwidth: 20000\n"
                 "reuse_network_name: provider-171\nflavor_type: m1.small\n"
                 "flavor: {vcpus: 2, ram: 4096, disk: 20, extra_specs: {'hw:cpu_policy': dedicated}}\n")
    settings, warnings = vmtp_config_file(f)
    assert settings["image"] == "cirros" and settings["bandwidth"] == "20000K"
    assert settings["networks"] == ["provider-171"]
    assert settings["flavor"] == {"name": "m1.small", "vcpus": 2, "ram": 4096, "disk": 20,
                                  "extra_specs": {"hw:cpu_policy": "dedicated"}}
    cfg = build({}, str(f), read_user_file=False)  # pytest-vmtp's flavor spec takes it as it is
    assert cfg.cloud["flavor"]["name"] == "m1.small" and cfg.cloud["flavor"]["vcpus"] == 2
    assert cfg.cloud["flavor"]["extra_specs"] == {"hw:cpu_policy": "dedicated"}
    text = "\n".join(warnings)
    for key in ("router_name", "ssh_retry_count", "fluentd", "colour"):
        assert f"'{key}'" in text, text
    assert "`router: NAME` attaches the run's networks to an existing router" in text
    assert len(warnings) == 4 and all("\n" not in w for w in warnings)


def vmtp_config_file(path: Path) -> tuple[dict, list[str]]:
    from pytest_vmtp.config import load_file

    return load_file(path)


def test_a_pytest_vmtp_file_is_still_strict(tmp_path: Path) -> None:
    f = tmp_path / "ours.yaml"
    f.write_text("duration_s: 2\ncolour: blue\n")
    with pytest.raises(ConfigError, match="unknown key"):
        build({}, str(f), read_user_file=False)
    f.write_text("duration_s: 2\nping_count: 3\n")  # no VMTP-only key: ping_count is ours
    assert build({}, str(f), read_user_file=False).measure.ping_count == 3


def test_in_a_vmtp_file_a_shared_key_means_what_it_meant_to_vmtp(tmp_path: Path) -> None:
    f = tmp_path / "vmtp.yaml"
    f.write_text("image_name: cirros\nping_count: 3\n")  # VMTP's ping_count: a check it never ran
    cfg = build({}, str(f), read_user_file=False)
    assert cfg.measure.ping_count == load_defaults()["ping_count"]
    assert any("'ping_count'" in w and "--vmtp-ping-count" in w for w in cfg.warnings)


def test_vmtps_order_user_file_then_config_file_then_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """VMTP: cfg.default.yaml < ~/.vmtp.yaml < -c FILE < command line."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".vmtp.yaml").write_text("image_name: from-home\ntcp_tp_loop_count: 5\nudp_pkt_sizes: [256]\n")
    cfg = build({}, read_user_file=True)
    assert (cfg.cloud["image"], cfg.measure.tcp_runs, cfg.files) == ("from-home", 5, (str(tmp_path / ".vmtp.yaml"),))
    c = tmp_path / "c.yaml"
    c.write_text("image_name: from-c\n")
    cfg = build({"udp_pkt_sizes": "512"}, str(c))
    assert (cfg.cloud["image"], cfg.measure.tcp_runs, cfg.measure.udp_pkt_sizes) == ("from-c", 5, (512,))
    assert build({}, read_user_file=False).cloud["image"] == load_defaults()["image"]
    (tmp_path / ".vmtp.yaml").write_text("duration_s: [oops\n")
    with pytest.raises(ConfigError, match="VMTP's per-user config .*not valid YAML"):
        build({})
