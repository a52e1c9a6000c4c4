"""NICs, boot, images, flavors and quotas end to end, as a user runs them, on a local cloud of
this module's (prefix vm6, management 198.18.196.0/24, external 198.18.197.0/24; the VLAN 198
provider network on physnet1 holds 198.18.198.0/24, this machine its gateway):

- SR-IOV ports (--vmtp-vnic-type direct) on the provider network: made first, bound hw_veb;
- a config drive, no DHCP and user data: the VMs take their addresses from the drive;
- --vmtp-footprint minimal under a quota of 2 instances and 2 floating IPs, where the
  default footprint is refused before anything is made, in one line;
- a flavor made from the config's spec and an image uploaded from an HTTP URL, both removed;
- in every run, what the user had before is there after it, untouched.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import openstack
import pytest

from pytest_vmtp import rundirs
from pytest_vmtp.cloud import CloudError, Topology, cleanup, new_run_id
from pytest_vmtp.cloud.settings import CloudSettings, FlavorSpec
from pytest_vmtp.localcloud import control
from tests.e2e.test_cloud_scenarios import FAST, status_rows, vmtp_pytest
from tests.support.own_cloud import own_cloud

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

PREFIX = "vm6"
MGMT, EXTERNAL, PROVIDER_CIDR = "198.18.196.0/24", "198.18.197.0/24", "198.18.198.0/24"
PROVIDER = "provider-198"
PING_ONLY = FAST + "protocols: I\n"  # each run measures what its mode changes: reachability


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.CloudHandle]:
    state = tmp_path_factory.mktemp("lc")
    with own_cloud(state, PREFIX, MGMT, EXTERNAL) as handle:
        yield handle


@pytest.fixture(scope="module")
def admin(cloud: control.CloudHandle) -> Iterator[openstack.connection.Connection]:
    config = openstack.config.OpenStackConfig(config_files=[str(cloud.clouds_yaml)])
    conn = openstack.connection.Connection(config=config.get_one(cloud.cloud_name))
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def users(admin: openstack.connection.Connection) -> dict[str, object]:
    """What the cloud's users have before any run: a provider network, a flavor, an image."""
    net = admin.network.create_network(name=PROVIDER, provider_network_type="vlan",
                                       provider_physical_network="physnet1", provider_segmentation_id=198,
                                       is_shared=True)
    admin.network.create_subnet(network_id=net.id, name=f"{PROVIDER}-subnet", cidr=PROVIDER_CIDR, ip_version=4,
                                gateway_ip="198.18.198.1")
    admin.compute.create_flavor(name="user-flavor", vcpus=2, ram=512, disk=1)
    admin.image.create_image(name="user-image", data=b"the user's own image", disk_format="raw",
                             container_format="bare", allow_duplicates=True)
    return inventory(admin)


def inventory(conn: openstack.connection.Connection) -> dict[str, object]:
    """Everything of the cloud a run could touch, by name."""
    return {
        "servers": sorted(s.name for s in conn.compute.servers()),
        "networks": sorted(n.name for n in conn.network.networks()),
        "subnets": sorted(s.name for s in conn.network.subnets()),
        "ports": sorted(p.name for p in conn.network.ports() if p.name),
        "routers": sorted(r.name for r in conn.network.routers()),
        "floating IPs": sorted(f.floating_ip_address for f in conn.network.ips()),
        # by name, once: Neutron makes each project's "default" group when the project first asks
        "security groups": sorted({g.name for g in conn.network.security_groups()}),
        "key pairs": sorted(k.name for k in conn.compute.keypairs()),
        "flavors": sorted(f.name for f in conn.compute.flavors()),
        "images": sorted((i.name, i.checksum or "") for i in conn.image.images()),
    }


def remove_run(conn: openstack.connection.Connection, run_id: str) -> None:
    """What vmtp-cleanup --run-id does after --vmtp-keep: the run's resources, its directory."""
    cleanup(conn, run_id)
    rundirs.sweep(run_id)


@pytest.fixture
def env(cloud: control.CloudHandle) -> dict[str, str]:
    e = dict(os.environ)
    e.update(cloud.env())
    e["VMTP_LOCALCLOUD_STATE_DIR"] = str(cloud.state_dir)
    return e


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "vmtp.yaml"
    path.write_text(PING_ONLY + extra)
    return path


def test_direct_vnics_on_a_provider_network(cloud, env, admin, users, tmp_path) -> None:
    """SR-IOV ports made first and bound hw_veb on VLAN 198; both same-network rows pass."""
    out = tmp_path / "r.json"
    res = vmtp_pytest(env, "-m", "cloud and same_network", "--vmtp-config", config(tmp_path), "--vmtp-network",
                      PROVIDER, "--vmtp-vnic-type", "direct", "--vmtp-hypervisor", "compute1", "--vmtp-hypervisor",
                      "compute2", "--vmtp-no-history", "--vmtp-keep", f"--vmtp-json={out}", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    assert [status_rows(res.stdout)[r] for r in ("1.3", "2.3")] == ["PASSED", "PASSED"]
    run_id = json.loads(out.read_text())["run_id"]
    ports = [p for p in admin.network.ports() if (p.name or "").startswith(f"vmtp-{run_id}-")]
    assert sorted(p.name for p in ports) == [f"vmtp-{run_id}-{r}-port" for r in ("same-inter", "same-intra",
                                                                                 "server")]
    for port in ports:
        assert (port.binding_vnic_type, port.binding_vif_type) == ("direct", "hw_veb")
        assert port.binding_vif_details["vlan"] == "198" and port.binding_profile == {"physical_network": "physnet1"}
        assert port.device_id and port.binding_host_id in ("compute1", "compute2")
    assert json.loads(out.read_text())["metadata"]["boot"]["vnic_type"] == "direct"
    remove_run(admin, run_id)
    assert inventory(admin) == users


def test_config_drive_without_dhcp_and_user_data(cloud, env, admin, users, tmp_path) -> None:
    """The run's subnets have no DHCP: its VMs are reachable only because their first boot
    took the addresses from the config drive (a VM without the drive gets none: see
    tests/localcloud/test_boot_api.py); the user data is on the drive."""
    user_data = tmp_path / "user-data"
    user_data.write_bytes(b"#cloud-config\n# pytest-vmtp was here\n")
    out = tmp_path / "r.json"
    res = vmtp_pytest(env, "-m", "cloud and intra_node", "--vmtp-config", config(tmp_path), "--vmtp-no-dhcp",
                      "--vmtp-user-data", user_data, "--vmtp-no-history", "--vmtp-keep", f"--vmtp-json={out}",
                      cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    assert [status_rows(res.stdout)[r] for r in ("1.3", "3.3", "5.3")] == ["PASSED"] * 3
    run_id = json.loads(out.read_text())["run_id"]
    subnets = [s for s in admin.network.subnets() if s.name.startswith(f"vmtp-{run_id}-")]
    assert len(subnets) == 2 and not any(s.is_dhcp_enabled for s in subnets)
    servers = [admin.compute.get_server(s.id) for s in admin.compute.servers() if s.name.startswith(f"vmtp-{run_id}-")]
    assert len(servers) == 3 and all(s.has_config_drive in (True, "True") for s in servers)
    assert {s.user_data for s in servers} == {base64.b64encode(user_data.read_bytes()).decode()}
    boot = json.loads(out.read_text())["metadata"]["boot"]
    assert (boot["config_drive"], boot["dhcp"], boot["user_data"]) == (True, False, True)
    remove_run(admin, run_id)
    assert inventory(admin) == users


def test_minimal_footprint_under_a_quota_of_two_instances(cloud, env, admin, users, tmp_path) -> None:
    project = admin.current_project_id
    admin.compute.update_quota_set(project, instances=2)
    admin.network.update_quota(project, floating_ips=2)
    try:
        settings = CloudSettings(image="vmtp-local", flavor="m1.tiny")
        with pytest.raises(CloudError) as info:  # the default footprint: refused, nothing made
            Topology(admin, settings, new_run_id(), tmp_path / "fast").reserve(
                ["server", "same_intra", "diff_intra"])
        assert str(info.value) == (
            "the project's quotas are short for this run: instances: needs 3, 2 free (limit 2, 0 in use); "
            "floating IPs: needs 3, 2 free (limit 2, 0 in use): give --vmtp-footprint minimal (at most 2 VMs "
            "and 2 floating IPs at a time, which fits), or raise them (openstack quota set)")
        assert inventory(admin) == users

        res = vmtp_pytest(env, "-m", "cloud and intra_node", "--vmtp-config", config(tmp_path),
                          "--vmtp-footprint", "minimal", "--vmtp-no-history", cwd=tmp_path)
    finally:
        admin.compute.update_quota_set(project, instances=10)
        admin.network.update_quota(project, floating_ips=50)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    assert [status_rows(res.stdout)[r] for r in ("1.3", "3.3", "5.3")] == ["PASSED"] * 3
    assert "quotas: the run needs instances 2" in res.stdout and "they fit" in res.stdout
    assert "footprint minimal: deleted same_intra to make room" in res.stdout
    assert inventory(admin) == users


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # no access log on the test's stderr


@pytest.fixture
def image_server(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """An HTTP server on this machine serving one image file: (its URL, its content)."""
    content = os.urandom(2_500_000)
    root = tmp_path / "www"
    root.mkdir()
    (root / "vm6-test.qcow2").write_bytes(content)
    handler = partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/vm6-test.qcow2", content
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_flavor_and_an_image_made_for_the_run_are_removed(cloud, env, admin, users, tmp_path,
                                                           image_server) -> None:
    url, _ = image_server
    extra = ("flavor: {name: vm6-pinned, vcpus: 1, ram: 256, disk: 1, extra_specs: {'hw:cpu_policy': dedicated, "
             "'hw:mem_page_size': '2048'}}\nimage: vm6-test\nlogin_user: root\ndelete_image_after_run: true\n")
    res = vmtp_pytest(env, "-m", "cloud and same_network and intra_node", "--vmtp-config", config(tmp_path, extra),
                      "--vmtp-image-url", url, "--vmtp-no-history", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    assert status_rows(res.stdout)["1.3"] == "PASSED"
    assert "flavor vm6-pinned not found: created vmtp-" in res.stdout
    assert "hw:cpu_policy=dedicated, hw:mem_page_size=2048" in res.stdout
    assert "uploaded image vm6-test (2500000 bytes, deleted after the run)" in res.stdout
    assert inventory(admin) == users  # the run's flavor and image are gone, the user's are there


def test_the_flavor_and_image_as_the_cloud_holds_them(cloud, admin, users, tmp_path, image_server) -> None:
    """What a run made, seen through the API before the cleanup: the flavor's spec and extra
    specs, the image's data and checksums; an image kept after its run carries no mark."""
    url, content = image_server
    spec = FlavorSpec.parse({"name": "vm6-missing", "vcpus": 1, "ram": 128, "disk": 0,
                             "extra_specs": {"hw:cpu_policy": "dedicated", "hw:mem_page_size": 2048}})
    run_id = new_run_id()
    settings = CloudSettings(image="vm6-kept", image_url=url, flavor=spec.name, flavor_spec=spec, cidrs=(
        "192.168.61.0/24", "192.168.62.0/24"))
    topo = Topology(admin, settings, run_id, tmp_path / "t")
    try:
        built = topo.vm("server")
        flavor = admin.compute.find_flavor(f"vmtp-{run_id}-flavor", ignore_missing=False)
        assert (flavor.vcpus, flavor.ram, flavor.disk) == (1, 128, 0)
        assert admin.compute.fetch_flavor_extra_specs(flavor).extra_specs == {
            "hw:cpu_policy": "dedicated", "hw:mem_page_size": "2048"}
        image = admin.image.find_image("vm6-kept", ignore_missing=False)
        assert (image.status, image.size, image.disk_format, image.tags) == ("active", len(content), "qcow2", [])
        assert image.checksum == hashlib.md5(content).hexdigest()
        assert (image.hash_algo, image.hash_value) == ("sha512", hashlib.sha512(content).hexdigest())
        assert b"".join(admin.image.download_image(image, stream=True).iter_content(1 << 16)) == content
        assert admin.compute.get_server(built.server_id).flavor.extra_specs["hw:cpu_policy"] == "dedicated"
    finally:
        cleanup(admin, run_id)
    assert admin.compute.find_flavor(f"vmtp-{run_id}-flavor") is None
    kept = admin.image.find_image("vm6-kept", ignore_missing=False)  # no delete_image_after_run: it stays
    admin.image.delete_image(kept)
    assert inventory(admin) == users


def test_a_member_cannot_have_the_flavor_made_and_is_told_so(cloud, admin, users, tmp_path) -> None:
    config = openstack.config.OpenStackConfig(config_files=[str(cloud.clouds_yaml)])
    member = openstack.connection.Connection(config=config.get_one(control.MEMBER_CLOUD_NAME))
    run_id = new_run_id()
    settings = CloudSettings(image="vmtp-local", flavor="vm6-nowhere")
    try:
        with pytest.raises(CloudError) as info:
            Topology(member, settings, run_id, tmp_path / "t").vm("server")
        assert str(info.value) == (
            "flavor 'vm6-nowhere' not found, and making it (1 vCPU, 2048 MB RAM, 0 GB disk) was refused (HTTP 403: "
            "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.): it needs an admin; "
            "create it or set --vmtp-flavor")
    finally:
        cleanup(member, run_id)
        member.close()
    assert inventory(admin) == users
