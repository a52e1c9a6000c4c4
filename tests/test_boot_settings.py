"""How the test VMs boot, before any cloud: the settings (vNIC type, config drive, user data,
DHCP, image URL, flavor spec, footprint) and their one-line errors, the quota arithmetic, the
minimal footprint's row order, the VM's first-boot commands, forgetting a deleted VM's key."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pytest_vmtp import catalogue
from pytest_vmtp.cloud import quotas
from pytest_vmtp.cloud.settings import CloudSettings, FlavorSpec
from pytest_vmtp.config import ConfigError, build
from pytest_vmtp.config_boot import user_data_b64, user_data_size
from pytest_vmtp.localcloud.dataplane import firstboot
from pytest_vmtp.measure.host_keys import forget_known_hosts
from pytest_vmtp.run_cloud import cloud_settings

SCENARIOS = ["--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider"]


def settings_of(overrides: dict, config: str | None = None, tmp_path: Path | None = None) -> CloudSettings:
    path = None
    if config is not None:
        assert tmp_path is not None
        path = tmp_path / "c.yaml"
        path.write_text(config)
    return CloudSettings.from_dict(cloud_settings(build(overrides, str(path) if path else None)))


def test_the_defaults_boot_as_before():
    s = settings_of({})
    assert (s.vnic_type, s.config_drive, s.user_data, s.dhcp, s.footprint, s.image_url) == (
        "normal", False, None, True, "fast", None)
    assert s.flavor == "vmtp" and s.flavor_spec == FlavorSpec("vmtp", 1, 2048, 0, ())


def test_the_flavor_is_a_name_or_vmtps_spec_and_the_option_names_it(tmp_path):
    spec = ("flavor: {vcpus: 2, ram: 1024, extra_specs: {'hw:cpu_policy': dedicated, 'hw:mem_page_size': 2048,"
            " 'hw:cpu_realtime': true}}\n")
    s = settings_of({}, spec, tmp_path)
    assert (s.flavor, s.flavor_spec.vcpus, s.flavor_spec.ram, s.flavor_spec.disk) == ("vmtp", 2, 1024, 0)
    assert dict(s.flavor_spec.extra_specs) == {"hw:cpu_policy": "dedicated", "hw:mem_page_size": "2048",
                                                "hw:cpu_realtime": "true"}
    s = settings_of({"flavor": "pinned"}, spec, tmp_path)  # --vmtp-flavor names it, the file's spec stays
    assert (s.flavor, s.flavor_spec.name, s.flavor_spec.vcpus) == ("pinned", "pinned", 2)
    assert settings_of({}, "flavor: m1.small\n", tmp_path).flavor == "m1.small"


@pytest.mark.parametrize("config, fragment", [
    ("flavor: {vcpus: 0}\n", "flavor {'vcpus': 0}: vcpus 0: a whole number of at least 1"),
    ("flavor: {cpus: 2}\n", "flavor {'cpus': 2}: unknown key(s) cpus: use name, vcpus, ram, disk, extra_specs"),
    ("flavor: {extra_specs: [a]}\n", "extra_specs ['a']: a mapping of keys to values"),
    ("flavor: [m1]\n", "give a flavor name, or a mapping of name, vcpus, ram, disk, extra_specs"),
    ("vnic_type: sriov\n", "--vmtp-vnic-type 'sriov': choose normal, direct, macvtap"),
    ("footprint: tiny\n", "--vmtp-footprint 'tiny': choose fast, minimal"),
    ("config_drive: maybe\n", "config_drive 'maybe': use true or false"),
    ("user_data: /nonexistent/ud\n", "--vmtp-user-data /nonexistent/ud: not a readable file"),
    ("vm_image_url: ftp://host/x.img\n", "--vmtp-image-url 'ftp://host/x.img': use an http(s):// or file:// URL"),
    ("vm_image_url: /nonexistent.qcow2\n", "--vmtp-image-url '/nonexistent.qcow2': /nonexistent.qcow2 is not a "
                                           "readable file"),
    ("vm_image_url: 'http://'\n", "--vmtp-image-url 'http://': no host in the URL"),
])
def test_boot_mistakes_are_one_line(tmp_path, config, fragment):
    path = tmp_path / "c.yaml"
    path.write_text(config)
    with pytest.raises(ConfigError) as info:
        build({}, str(path))
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_user_data_is_nova_sized_and_no_dhcp_brings_the_config_drive(tmp_path):
    small, big = tmp_path / "small", tmp_path / "big"
    small.write_bytes(b"#!/bin/sh\necho hi\n")
    big.write_bytes(b"x" * 49152)  # 65536 bytes in base64: one block too many
    s = settings_of({"user_data": str(small), "dhcp": False, "vm_image_url": f"file://{small}"})
    assert (s.user_data, s.dhcp, s.config_drive, s.image_url) == (str(small), False, True, str(small))
    assert base64.b64decode(user_data_b64(str(small))) == small.read_bytes()
    assert user_data_size(str(small)) == len(user_data_b64(str(small)))
    with pytest.raises(ConfigError, match=r"65536 bytes once base64-encoded; Nova takes at most 65535$"):
        build({"user_data": str(big)})
    assert settings_of({"vm_image_url": "https://images.example/cirros.img"}).image_url == \
        "https://images.example/cirros.img"


PLAN = quotas.Plan(vms=5, vcpus=1, ram=2048, floating_vms=5, networks=2, router=True, interfaces=2,
                   security_group=True, key_pair=True)


def test_needs_are_what_the_run_makes():
    assert quotas.needs(PLAN, minimal=False).items() == {
        "instances": 5, "cores": 5, "ram": 10240, "key_pairs": 1, "ports": 7, "floating_ips": 5, "networks": 2,
        "subnets": 2, "routers": 1, "security_groups": 1}
    minimal = quotas.needs(PLAN, minimal=True)
    assert (minimal.instances, minimal.cores, minimal.ram, minimal.ports, minimal.floating_ips) == (2, 2, 4096, 4, 2)


def test_the_short_quota_is_named_with_what_helps():
    rooms = {"instances": quotas.Room(10, 8), "floating_ips": quotas.Room(50, 0), "ram": quotas.Room(-1, 99)}
    assert quotas.verdict(PLAN, False, rooms) == (
        "the project's quotas are short for this run: instances: needs 5, 2 free (limit 10, 8 in use): give "
        "--vmtp-footprint minimal (at most 2 VMs and 2 floating IPs at a time, which fits), or raise them "
        "(openstack quota set)")
    assert quotas.verdict(PLAN, True, rooms) is None
    rooms["networks"] = quotas.Room(3, 2)  # minimal needs the same networks: it would not help
    assert quotas.verdict(PLAN, False, rooms) == (
        "the project's quotas are short for this run: instances: needs 5, 2 free (limit 10, 8 in use); networks: "
        "needs 2, 1 free (limit 3, 2 in use): raise them (openstack quota set), or select fewer rows")


def test_minimal_footprint_runs_client_by_client_as_vmtp():
    rows = [r for r in catalogue.catalogue() if r.kind != "native"]
    order = [r.id for r in sorted(rows, key=catalogue.footprint_sort_key)]
    assert order == ["1.1", "1.2", "1.3", "3.1", "3.2", "3.3", "5.1", "5.2", "5.3",
                     "2.1", "2.2", "2.3", "4.1", "4.2", "4.3", "6.1", "6.2", "6.3", "8.1", "8.2"]
    clients = [r.group.client_role for r in sorted(rows, key=catalogue.footprint_sort_key) if r.group]
    changes = [a for a, b in zip(clients, clients[1:], strict=False) if a != b]
    assert changes == ["same_intra", "diff_intra", "same_inter"]  # each client boots once
    floating = catalogue.floating_roles_needed(r for r in rows if r.id in ("3.1", "5.1", "8.1"))
    assert floating == {"server", "diff_intra"}


def test_first_boot_applies_the_static_networks_of_network_data():
    doc = {"links": [{"id": "tapA", "type": "ovs", "mtu": 1450, "ethernet_mac_address": "FA:16:3E:00:00:01"},
                     {"id": "tapB", "type": "hw_veb", "mtu": 1500, "ethernet_mac_address": "fa:16:3e:00:00:02"}],
           "networks": [{"id": "network0", "type": "ipv4", "link": "tapA", "ip_address": "10.0.0.5",
                         "netmask": "255.255.255.0", "routes": [
                             {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"},
                             {"network": "172.16.0.0", "netmask": "255.240.0.0", "gateway": "10.0.0.254"}]},
                        {"id": "network1", "type": "ipv4_dhcp", "link": "tapB"}],
           "services": []}
    assert firstboot.commands(doc, {"fa:16:3e:00:00:01": "eth0", "fa:16:3e:00:00:02": "eth1"}) == [
        ["ip", "link", "set", "dev", "eth0", "mtu", "1450", "up"],
        ["ip", "address", "replace", "10.0.0.5/24", "dev", "eth0"],
        ["ip", "route", "replace", "default", "via", "10.0.0.1", "dev", "eth0"],
        ["ip", "route", "replace", "172.16.0.0/12", "via", "10.0.0.254", "dev", "eth0"]]
    with pytest.raises(ValueError, match="no interface with MAC fa:16:3e:00:00:01"):
        firstboot.commands(doc, {})


def test_first_boot_says_what_it_cannot_apply(tmp_path, capsys):
    drive = tmp_path / "openstack" / "latest"
    drive.mkdir(parents=True)
    (drive / "network_data.json").write_text(json.dumps({"links": [], "networks": [
        {"id": "network0", "type": "ipv4", "link": "tapX", "ip_address": "10.0.0.5", "netmask": "255.255.255.0"}]}))
    assert firstboot.main(["firstboot.py", str(tmp_path)]) == 1
    assert "no link 'tapX'" in capsys.readouterr().err


def test_a_deleted_vms_host_keys_are_forgotten(tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("10.0.0.5 ssh-ed25519 AAAA\n10.0.0.6,203.0.113.9 ssh-ed25519 BBBB\n[10.0.0.7]:22 ssh-ed25519 C\n")
    assert forget_known_hosts(known, {"10.0.0.6", "10.0.0.9"}) == 1
    assert known.read_text() == "10.0.0.5 ssh-ed25519 AAAA\n[10.0.0.7]:22 ssh-ed25519 C\n"
    assert forget_known_hosts(tmp_path / "absent", {"10.0.0.5"}) == 0


def test_minimal_footprint_orders_the_rows_and_refuses_xdist(pytester: pytest.Pytester):
    res = pytester.runpytest_subprocess(*SCENARIOS, "--co", "-q", "-m", "cloud and tcp", "--vmtp-footprint",
                                        "minimal")
    ids = [ln.split("[")[1][:3] for ln in res.stdout.lines if "::test_flow[" in ln]
    assert ids == ["1.1", "3.1", "5.1", "2.1", "4.1", "6.1", "8.1", "8.2"]
    res = pytester.runpytest_subprocess(*SCENARIOS, "--co", "-n", "2", "--vmtp-footprint", "minimal")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "--vmtp-footprint minimal boots one client VM at a time, row after row: run it without -n" in \
        res.stderr.str()
