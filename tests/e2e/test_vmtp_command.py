"""VMTP users' way in, end to end on a local cloud of this module's own (prefix vm7,
198.18.200.0/24 management, 198.18.201.0/24 external): Neutron's agents as the cloud lists them,
the run metadata read from them and from the API versions, and the `vmtp` command run with an
openrc and a VMTP config file, printing VMTP's summary.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openstack
import pytest
import yaml

from pytest_vmtp.localcloud import control
from pytest_vmtp.report import vmtp_json
from tests.localcloud.lc_support import connect
from tests.support.own_cloud import own_cloud

PREFIX = "vm7"
MGMT_CIDR, EXTERNAL_CIDR = "198.18.200.0/24", "198.18.201.0/24"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.CloudHandle]:
    with own_cloud(tmp_path_factory.mktemp("lc"), PREFIX, MGMT_CIDR, EXTERNAL_CIDR) as handle:
        yield handle


@pytest.fixture(scope="module")
def admin(cloud: control.CloudHandle) -> Iterator[openstack.connection.Connection]:
    conn = connect(cloud)
    yield conn
    conn.close()


def test_neutron_agents_as_a_linuxbridge_deployment_lists_them(admin) -> None:
    agents = sorted(admin.network.agents(), key=lambda a: (a.agent_type, a.host))
    assert [(a.agent_type, a.binary, a.host) for a in agents] == [
        ("L3 agent", "neutron-l3-agent", "network"),
        ("Linux bridge agent", "neutron-linuxbridge-agent", "compute1"),
        ("Linux bridge agent", "neutron-linuxbridge-agent", "compute2"),
        ("Linux bridge agent", "neutron-linuxbridge-agent", "network")]
    assert all(a.is_alive and a.is_admin_state_up for a in agents)
    compute1 = agents[1]
    assert compute1.configuration["tunnel_types"] == ["vxlan"] and compute1.configuration["tunneling_ip"]
    assert admin.network.get_agent(compute1.id).host == "compute1"
    assert [a.host for a in admin.network.agents(agent_type="L3 agent")] == ["network"]
    with pytest.raises(openstack.exceptions.NotFoundException):
        admin.network.get_agent("00000000-0000-0000-0000-000000000000")


def test_a_member_sees_no_agent_and_its_metadata_says_so(cloud) -> None:
    """Neutron's default policy lists agents to admins only: a member gets an empty list (not a
    403) and 404 for one agent; the run metadata then names no L2 agent, and says why."""
    from pytest_vmtp.cloud.metadata import metadata

    config = openstack.config.OpenStackConfig(config_files=[str(cloud.clouds_yaml)])
    member = openstack.connection.Connection(config=config.get_one("local-member"))
    try:
        assert list(member.network.agents()) == []
        with openstack.connection.Connection(config=config.get_one(cloud.cloud_name)) as admin:
            some = next(iter(admin.network.agents())).id
        with pytest.raises(openstack.exceptions.NotFoundException):
            member.network.get_agent(some)
        meta = metadata(member, None)
        assert "l2agent_type" not in meta and "none visible" in meta["neutron_agents"]["error"]
        assert meta["openstack_version"] == "Train (compute API 2.79)"  # the versions are anyone's
    finally:
        member.close()


def test_run_metadata_names_the_l2_agent_and_the_release(admin) -> None:
    from pytest_vmtp.cloud.metadata import metadata

    meta = metadata(admin, None)
    assert meta["l2agent_type"] == "Linux bridge agent"
    assert meta["openstack_version"] == "Train (compute API 2.79)"  # the local cloud's Nova maximum
    assert meta["neutron_agents"] == {"L3 agent": 1, "Linux bridge agent": 3}
    doc = vmtp_json.build_document([], "1234567", {}, None, meta)
    assert (doc["l2agent_type"], doc["openstack_version"]) == ("Linux bridge agent", "Train (compute API 2.79)")


VMTP_CONFIG = """\
# A VMTP config file, as VMTP users have them.
image_name: vmtp-local
ssh_vm_username: root
flavor_type: m1.tiny
router_name: perf-router
tcp_tp_loop_count: 1
icmp_pkt_sizes: [64, 1500]
vm_bandwidth: 200000
ping_interval_s: 0.05
"""


def test_the_vmtp_command_with_an_openrc_and_a_vmtp_config_file(cloud, tmp_path: Path) -> None:
    auth = yaml.safe_load(cloud.clouds_yaml.read_text())["clouds"][cloud.cloud_name]["auth"]
    openrc = tmp_path / "admin-openrc.sh"
    openrc.write_text(
        f"export OS_AUTH_URL={auth['auth_url']}/v3\nexport OS_USERNAME={auth['username']}\n"
        f"export OS_PROJECT_NAME={auth['project_name']}\nexport OS_USER_DOMAIN_NAME=Default\n"
        "export OS_PROJECT_DOMAIN_NAME=Default\nexport OS_IDENTITY_API_VERSION=3\nexport OS_REGION_NAME=RegionOne\n"
        'echo "Please enter your OpenStack Password: "\nread -sr OS_PASSWORD_INPUT\n'
        "export OS_PASSWORD=$OS_PASSWORD_INPUT\n")
    config = tmp_path / "vmtp.yaml"
    config.write_text(VMTP_CONFIG)
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_PASSWORD"] = auth["password"]  # the openrc asks for it: from the environment, as VMTP
    env["HOME"] = str(tmp_path)  # no ~/.vmtp.yaml of the machine's
    cmd = [str(BIN / "vmtp"), "-r", str(openrc), "-c", str(config), "-t", "1", "--protocols", "TI",
           "--same-network-only", "--json", str(out), "--test-description", "vmtp e2e",
           "--", "-k", "1.1 or 1.3", "--vmtp-no-history"]
    res = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-5000:]
    assert "Summary of results" in res.stdout and "Total Scenarios:   23" in res.stdout
    rows = dict(re.findall(r"^\| (\d\.\d) +\| .+? +\| (PASSED|FAILED|SKIPPED) ", res.stdout, re.M))
    assert (rows["1.1"], rows["1.3"], rows["1.2"], rows["2.1"]) == ("PASSED", "PASSED", "SKIPPED", "SKIPPED")
    assert re.search(r"WARNING .*vmtp\.yaml \(VMTP's format\): VMTP key 'router_name' has no equivalent", text)
    assert auth["password"] not in text

    doc = json.loads(out.read_text())
    vmtp_json.validate(doc)
    assert doc["test_description"] == "vmtp e2e" and doc["l2agent_type"] == "Linux bridge agent"
    assert doc["openstack_version"] == "Train (compute API 2.79)"
    assert doc["args"]["image"] == "vmtp-local" and doc["args"]["flavor"]["name"] == "m1.tiny"
    assert doc["args"]["tcp_runs"] == 1 and doc["args"]["bandwidth"] == "200000K"
    tcp = next(f for f in doc["flows"] if f["scenario"] == "1.1")
    assert [r["bandwidth_limit_kbps"] for r in tcp["results"]] == [200000]
    icmp = next(f for f in doc["flows"] if f["scenario"] == "1.3")
    assert [s["packet_size"] for s in icmp["results"][0]["results"]] == [64, 1500]
    assert auth["password"] not in out.read_text()
