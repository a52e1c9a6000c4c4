"""Cloud modes end to end, as a user runs them, on a local cloud with no external network at
all (prefix vhn, 198.18.170.0/24; its unused external range 198.18.171.0/24 is the provider
network's), compute1 in zone az1 and compute2 in az2:

- a provider network (VLAN 171 on physnet1, this machine its gateway) reused by name: no
  router, no floating IPs; the same-network rows pass, the others skip with their reasons;
- the run's own networks on the user's router, reached through a jump host (a VM of the
  user's on that router and on the provider network) with no floating IPs;
- the user's network, router, security group and key pair are there after the runs and after
  `vmtp-cleanup --all-runs`: nothing a run did not create is deleted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openstack
import pytest

from pytest_vmtp.localcloud import control
from pytest_vmtp.report import vmtp_json
from tests.e2e.test_cloud_scenarios import FAST, status_rows, vmtp_pytest
from tests.localcloud.lc_support import connect
from tests.support.own_cloud import own_cloud

PREFIX = "vhn"
MGMT_CIDR, SPARE_CIDR = "198.18.170.0/24", "198.18.171.0/24"
BIN = Path(sys.executable).parent
PROVIDER = "provider-171"
BASTION_IP = "198.18.171.250"
ZONES = (("compute1", "az1"), ("compute2", "az2"))


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.CloudHandle]:
    state = tmp_path_factory.mktemp("lc")
    with own_cloud(state, PREFIX, MGMT_CIDR, SPARE_CIDR,
                   networking=control.Networking(zones=ZONES, external_network=False)) as handle:
        yield handle


@pytest.fixture(scope="module")
def admin(cloud: control.CloudHandle) -> Iterator[openstack.connection.Connection]:
    conn = connect(cloud)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def users(admin, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What exists before any run: the admin's provider network; the user's key pair,
    security group, router and network, and a jump host on both networks."""
    work = tmp_path_factory.mktemp("user")
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    net = admin.network.create_network(name=PROVIDER, provider_network_type="vlan",
                                       provider_physical_network="physnet1", provider_segmentation_id=171,
                                       is_shared=True)
    admin.network.create_subnet(network_id=net.id, name=f"{PROVIDER}-subnet", cidr=SPARE_CIDR,
                                ip_version=4, gateway_ip="198.18.171.1")
    admin.compute.create_keypair(name="user-key", public_key=Path(f"{key}.pub").read_text())
    group = admin.network.create_security_group(name="user-sg")
    for rule in ({"protocol": "icmp"}, {"protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
                 {"protocol": "tcp", "port_range_min": 5001, "port_range_max": 5002},
                 {"protocol": "udp", "port_range_min": 5001, "port_range_max": 5001}):
        admin.network.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                                 remote_ip_prefix="0.0.0.0/0", **rule)
    router = admin.network.create_router(name="user-router")
    mgmt = admin.network.create_network(name="user-mgmt")
    subnet = admin.network.create_subnet(network_id=mgmt.id, name="user-mgmt-subnet", cidr="10.77.0.0/24",
                                         ip_version=4)
    admin.network.add_interface_to_router(router.id, subnet.id)
    image = admin.image.find_image("vmtp-local", ignore_missing=False)
    flavor = admin.compute.find_flavor("m1.tiny", ignore_missing=False)
    bastion = admin.compute.create_server(  # eth0 (default route): the user's router; eth1: this machine's
        name="user-bastion", image_id=image.id, flavor_id=flavor.id, key_name="user-key",
        networks=[{"uuid": mgmt.id}, {"uuid": net.id, "fixed_ip": BASTION_IP}],
        security_groups=[{"name": "user-sg"}])
    admin.compute.wait_for_server(bastion, interval=0.2, wait=60)
    return {"key": str(key), "known_hosts": str(work / "known_hosts")}


def user_resources(admin) -> dict[str, object]:
    """The user's (and the admin's) resources as they stand."""
    router = admin.network.find_router("user-router")
    interfaces = sorted(
        p.fixed_ips[0]["ip_address"] for p in admin.network.ports(device_id=router.id)
        if p.device_owner == "network:router_interface") if router else None
    group = admin.network.find_security_group("user-sg")
    return {
        "networks": sorted(n.name for n in admin.network.networks()),
        "router interfaces": interfaces,
        "security group rules": len(group.security_group_rules) if group else None,
        "key pair": admin.compute.find_keypair("user-key") is not None,
        "servers": sorted(s.name for s in admin.compute.servers()),
        "routers": sorted(r.name for r in admin.network.routers()),
    }


USERS = {"networks": [PROVIDER, "user-mgmt"], "router interfaces": ["10.77.0.1"],
         "security group rules": 6, "key pair": True, "servers": ["user-bastion"],
         "routers": ["user-router"]}  # 4 ingress rules + Neutron's 2 egress ones


@pytest.fixture
def env(cloud) -> dict[str, str]:
    e = dict(os.environ)
    e.update(cloud.env())
    e["VMTP_LOCALCLOUD_STATE_DIR"] = str(cloud.state_dir)
    return e


def vm_processes() -> list[str]:
    """Tool processes still running inside this cloud's VM namespaces."""
    left = []
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    for ns in (n for n in names if n.startswith(f"{PREFIX}-vm-")):
        for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split():
            comm = Path(f"/proc/{pid}/comm")
            if comm.exists() and comm.read_text().strip() in ("nuttcp", "iperf", "iperf3", "ping"):
                left.append(f"{ns}: {pid}")
    return left


def rows_of(stdout: str, *groups: str) -> dict[str, str]:
    rows = status_rows(stdout)
    return {sid: rows[sid] for sid in rows if sid.split(".")[0] in groups}


def test_a_provider_network_with_no_router_nor_floating_ips(cloud, env, admin, users, tmp_path) -> None:
    cfg = tmp_path / "fast.yaml"
    cfg.write_text(FAST)
    out = tmp_path / "r.json"
    res = vmtp_pytest(env, "-m", "cloud", "--vmtp-config", cfg, "--vmtp-network", PROVIDER,
                      "--vmtp-hypervisor", "compute1", "--vmtp-hypervisor", "compute2", "--vmtp-no-history",
                      f"--vmtp-json={out}", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    assert set(rows_of(res.stdout, "1", "2").values()) == {"PASSED"}
    assert set(rows_of(res.stdout, "3", "4", "5", "6", "8").values()) == {"SKIPPED"}
    assert f"--vmtp-network {PROVIDER} gives one network" in res.stdout
    assert "no external (router:external) network on this cloud" in res.stdout
    assert "Traceback" not in res.stdout

    doc = json.loads(out.read_text())
    vmtp_json.validate(doc)
    flows = {f["scenario"]: f for f in doc["flows"]}
    assert flows["1.1"]["ip_to"].startswith("198.18.171.")  # the server's fixed IP, reached directly
    assert (flows["2.1"]["az_from"], flows["2.1"]["az_to"]) == ("az2:compute2", "az1:compute1")
    assert doc["encapsulation"] == "vlan"
    mode = doc["metadata"]["network_mode"]
    assert mode["ssh"] == "fixed" and mode["router"] == "none" and mode["reused"] == {"net1": PROVIDER}
    assert "vmtp-" not in json.dumps(user_resources(admin))
    assert user_resources(admin) == USERS
    assert vm_processes() == []


def test_fixed_ip_rows_through_a_jump_host_without_floating_ips(cloud, env, admin, users, tmp_path) -> None:
    cfg = tmp_path / "jump.yaml"
    cfg.write_text(FAST + f"router: user-router\nsecurity_group: user-sg\nkey_pair: user-key\n"
                          f"private_key: {users['key']}\n")
    jump = f"root@{BASTION_IP},key={users['key']},known_hosts={users['known_hosts']},hostkey=accept-new"
    res = vmtp_pytest(env, "-m", "cloud", "--vmtp-config", cfg, "--vmtp-no-floating-ip", "--vmtp-ssh-jump", jump,
                      "--vmtp-dns-nameservers", "192.0.2.53", "--vmtp-keep", "--vmtp-no-history", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    assert set(rows_of(res.stdout, "1", "2", "3", "4").values()) == {"PASSED"}
    assert set(rows_of(res.stdout, "5", "6", "8").values()) == {"SKIPPED"}
    assert "floating IPs are off (--vmtp-no-floating-ip)" in res.stdout
    assert "created network vmtp-" in res.stdout and "on router user-router" in res.stdout

    kept = [s for s in admin.network.subnets() if s.name.startswith("vmtp-")]
    assert len(kept) == 2 and all(s.dns_nameservers == ["192.0.2.53"] for s in kept)
    assert len(user_resources(admin)["router interfaces"]) == 3  # the user's + the run's two
    assert not list(admin.network.ips())
    done = subprocess.run([BIN / "vmtp-cleanup", "--cloud", "local", "--all-runs"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the router is not the run's: it stays" in done.stdout
    assert user_resources(admin) == USERS  # the run's interfaces gone, the user's all there
    assert vm_processes() == []


def test_one_availability_zone(cloud, env, users, tmp_path) -> None:
    cfg = tmp_path / "fast.yaml"
    cfg.write_text(FAST)
    out = tmp_path / "r.json"
    res = vmtp_pytest(env, "-m", "cloud and icmp and same_network", "--vmtp-config", cfg,
                      "--vmtp-network", PROVIDER, "--vmtp-availability-zone", "az2", "--vmtp-no-history",
                      f"--vmtp-json={out}", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    assert status_rows(res.stdout)["1.3"] == "PASSED" and status_rows(res.stdout)["2.3"] == "SKIPPED"
    assert "the cloud has one enabled compute host in zone 'az2' (compute2)" in res.stdout
    flows = {f["scenario"]: f for f in json.loads(out.read_text())["flows"]}
    assert flows["1.3"]["az_to"] == "az2:compute2"
