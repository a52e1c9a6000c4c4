"""The local cloud's Nova, Neutron and Glance behaviour for the NICs-and-boot modes, pinned
over HTTP and on the data path: flavors and their extra specs, image upload and download,
SR-IOV ports (direct, macvtap), the config drive, user data and subnets without DHCP.

A cloud of its own: prefix vm6b, management 198.18.199.0/26, external 198.18.199.64/26; the
provider networks on physnet1 hold 198.18.199.128/26 (VLAN 199) and 198.18.199.192/26 (flat),
this machine their gateway, so the tests reach the VMs directly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack
import pytest
import requests

from pytest_vmtp.localcloud import control
from pytest_vmtp.localcloud.control import CloudHandle
from tests.localcloud.lc_support import Api, connect, ssh
from tests.localcloud.test_provider_networks import vlan_ids_on
from tests.support.own_cloud import own_cloud

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

PREFIX = "vm6b"
MGMT, EXTERNAL = "198.18.199.0/26", "198.18.199.64/26"
VLAN_CIDR, FLAT_CIDR = "198.18.199.128/26", "198.18.199.192/26"
NOVA = "/compute/v2.1"
GLANCE = "/image/v2"
NEW = {"OpenStack-API-Version": "compute 2.61"}  # flavors with extra specs


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudHandle]:
    state = tmp_path_factory.mktemp("boot-cloud")
    with own_cloud(state, PREFIX, MGMT, EXTERNAL) as handle:
        yield handle
    assert not (state / "images").exists()  # the images' data went with the cloud


@pytest.fixture(scope="module")
def conn(cloud: CloudHandle) -> Iterator[openstack.connection.Connection]:
    connection = connect(cloud)
    yield connection
    connection.close()


class HeaderApi(Api):
    """Api whose calls may add headers (a microversion, a content type) to the token's."""

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.root + path, headers=headers, timeout=10, **kwargs)


@pytest.fixture
def api(cloud: CloudHandle, conn: openstack.connection.Connection) -> Api:
    return HeaderApi(cloud, conn)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory, conn: openstack.connection.Connection) -> Path:
    path = tmp_path_factory.mktemp("key") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    conn.compute.create_keypair(name="k", public_key=Path(f"{path}.pub").read_text())
    return path


@pytest.fixture(scope="module")
def nets(conn: openstack.connection.Connection) -> dict[str, Any]:
    """A VLAN and a flat provider network (this machine their gateway), the flat one without
    DHCP; a tenant (VXLAN) network; a security group letting SSH in only."""
    vlan = conn.network.create_network(name="vlan199", provider_network_type="vlan",
                                       provider_physical_network="physnet1", provider_segmentation_id=199)
    conn.network.create_subnet(network_id=vlan.id, cidr=VLAN_CIDR, ip_version=4, gateway_ip="198.18.199.129")
    flat = conn.network.create_network(name="flat", provider_network_type="flat",
                                       provider_physical_network="physnet1")
    flat_subnet = conn.network.create_subnet(network_id=flat.id, cidr=FLAT_CIDR, ip_version=4,
                                             gateway_ip="198.18.199.193", is_dhcp_enabled=False,
                                             dns_nameservers=["192.0.2.53"])
    tenant = conn.network.create_network(name="tenant")
    conn.network.create_subnet(network_id=tenant.id, cidr="10.66.0.0/24", ip_version=4)
    group = conn.network.create_security_group(name="ssh-only")
    conn.network.create_security_group_rule(security_group_id=group.id, direction="ingress", protocol="tcp",
                                            port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0")
    return {"vlan": vlan, "flat": flat, "flat_subnet": flat_subnet, "tenant": tenant, "group": group}


def boot(conn: openstack.connection.Connection, name: str, wait: bool = True, **kwargs: Any) -> Any:
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    if "networks" in kwargs and "port" not in kwargs["networks"][0]:
        kwargs.setdefault("security_groups", [{"name": "ssh-only"}])
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id, key_name="k", **kwargs)
    return conn.compute.wait_for_server(server, interval=0.1, wait=60) if wait else server


def netns_of(server: Any) -> str:
    return f"{PREFIX}-vm-{server.id.replace('-', '')[:8]}"


def in_vm(server: Any, *cmd: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns_of(server), *cmd], capture_output=True, text=True).stdout


def pings(ip: str) -> bool:
    return subprocess.run(["ping", "-c", "1", "-W", "1", ip], capture_output=True).returncode == 0


# --- flavors ----------------------------------------------------------------------------------

def test_flavors_are_made_and_deleted_with_their_extra_specs(api: Api) -> None:
    body = {"flavor": {"name": "pinned", "vcpus": 2, "ram": 1024, "disk": 5, "id": "pinned-1",
                       "OS-FLV-EXT-DATA:ephemeral": 1, "os-flavor-access:is_public": True}}
    made = api("POST", f"{NOVA}/flavors", json=body, headers=NEW)
    assert made.status_code == 200
    assert {k: made.json()["flavor"][k] for k in ("id", "name", "vcpus", "ram", "disk", "extra_specs")} == {
        "id": "pinned-1", "name": "pinned", "vcpus": 2, "ram": 1024, "disk": 5, "extra_specs": {}}
    assert api("POST", f"{NOVA}/flavors", json=body).json() == {
        "conflictingRequest": {"code": 409, "message": "Flavor with name pinned already exists."}}
    again = {"flavor": {**body["flavor"], "name": "other"}}
    assert api("POST", f"{NOVA}/flavors", json=again).json()["conflictingRequest"]["message"] == \
        "Flavor with ID pinned-1 already exists."
    bad = api("POST", f"{NOVA}/flavors", json={"flavor": {"name": "x", "vcpus": 0, "ram": 1, "disk": 0}})
    assert (bad.status_code, bad.json()["badRequest"]["message"]) == (
        400, "Invalid input for field/attribute vcpus. Value: 0.")

    specs = f"{NOVA}/flavors/pinned-1/os-extra_specs"
    wanted = {"hw:cpu_policy": "dedicated", "hw:mem_page_size": 2048}
    assert api("POST", specs, json={"extra_specs": wanted}).json() == {
        "extra_specs": {"hw:cpu_policy": "dedicated", "hw:mem_page_size": "2048"}}
    assert api("GET", f"{specs}/hw:mem_page_size").json() == {"hw:mem_page_size": "2048"}
    assert api("PUT", f"{specs}/hw:mem_page_size", json={"hw:mem_page_size": "large"}).json() == \
        {"hw:mem_page_size": "large"}
    assert api("PUT", f"{specs}/hw:mem_page_size", json={"hw:cpu_policy": "shared"}).status_code == 400
    assert api("POST", specs, json={"extra_specs": {"bad/key": "x"}}).status_code == 400
    assert api("DELETE", f"{specs}/hw:mem_page_size").status_code == 200
    assert api("GET", f"{specs}/hw:mem_page_size").json()["itemNotFound"]["message"] == \
        "Flavor pinned-1 has no extra specs with key hw:mem_page_size."
    shown = api("GET", f"{NOVA}/flavors/pinned-1", headers=NEW).json()["flavor"]
    assert shown["extra_specs"] == {"hw:cpu_policy": "dedicated"} and shown["OS-FLV-EXT-DATA:ephemeral"] == 1
    assert "pinned" in [f["name"] for f in api("GET", f"{NOVA}/flavors").json()["flavors"]]
    assert api("DELETE", f"{NOVA}/flavors/pinned-1").status_code == 202
    assert api("GET", f"{NOVA}/flavors/pinned-1").status_code == 404


def test_a_server_keeps_its_flavor_and_quota_use_when_the_flavor_goes(conn, api: Api, nets, key) -> None:
    flavor = conn.compute.create_flavor(name="short-lived", vcpus=3, ram=384, disk=0)
    conn.compute.create_flavor_extra_specs(flavor, {"hw:cpu_policy": "dedicated"})
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    server = conn.compute.create_server(name="keeps", image_id=image.id, flavor_id=flavor.id,
                                        networks=[{"uuid": nets["vlan"].id}])
    try:
        conn.compute.wait_for_server(server, interval=0.1, wait=60)
        cores = api("GET", f"{NOVA}/limits").json()["limits"]["absolute"]["totalCoresUsed"]
        conn.compute.delete_flavor(flavor)
        assert api("GET", f"{NOVA}/limits").json()["limits"]["absolute"]["totalCoresUsed"] == cores
        shown = conn.compute.get_server(server.id).flavor
        assert (shown.vcpus, shown.original_name, shown.extra_specs) == (3, "short-lived",
                                                                        {"hw:cpu_policy": "dedicated"})
    finally:
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=0.1, wait=60)


# --- images -----------------------------------------------------------------------------------

def test_an_image_is_uploaded_checksummed_served_and_deleted(cloud: CloudHandle, api: Api, conn) -> None:
    made = api("POST", f"{GLANCE}/images", json={"name": "up", "disk_format": "qcow2", "container_format": "bare",
                                                 "tags": ["t1"], "os_distro": "debian"})
    assert made.status_code == 201 and made.headers["Location"].endswith(f"/image/v2/images/{made.json()['id']}")
    image = made.json()
    assert (image["status"], image["size"], image["checksum"], image["os_distro"]) == ("queued", None, None, "debian")
    url = f"{GLANCE}/images/{image['id']}"
    assert api("GET", f"{url}/file").status_code == 204  # no data yet
    vmtp_local = conn.image.find_image("vmtp-local", ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    refused = api("POST", f"{NOVA}/servers", json={"server": {"name": "early", "imageRef": image["id"],
                                                              "flavorRef": flavor.id, "networks": "none"}})
    assert refused.json()["badRequest"]["message"] == f"Image {image['id']} is not active."
    data = os.urandom(3_000_000)
    assert api("PUT", f"{url}/file", data=data).status_code == 415  # not application/octet-stream
    octets = {"Content-Type": "application/octet-stream"}
    assert api("PUT", f"{url}/file", data=data, headers=octets).status_code == 204
    image = api("GET", url).json()
    assert (image["status"], image["size"], image["checksum"], image["os_hash_algo"], image["os_hash_value"]) == (
        "active", len(data), hashlib.md5(data).hexdigest(), "sha512",
        hashlib.sha512(data).hexdigest())
    assert (cloud.state_dir / "images" / image["id"]).read_bytes() == data
    again = api("PUT", f"{url}/file", data=b"more", headers=octets)
    assert (again.status_code, "Image status transition from active to saving is not allowed" in again.text) == (
        409, True)
    got = api("GET", f"{url}/file")
    assert (got.status_code, got.content, got.headers["Content-MD5"]) == (200, data, image["checksum"])
    assert api("PUT", f"{url}/tags/t2").status_code == 204
    assert [i["name"] for i in api("GET", f"{GLANCE}/images?tag=t1&tag=t2").json()["images"]] == ["up"]
    patch = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
    ops = [{"op": "replace", "path": "/name", "value": "renamed"}, {"op": "remove", "path": "/os_distro"},
           {"op": "add", "path": "/os_admin_user", "value": "root"}]
    patched = api("PATCH", url, json=ops, headers=patch).json()
    assert (patched["name"], patched["os_admin_user"], "os_distro" in patched) == ("renamed", "root", False)
    assert api("PATCH", url, json=[{"op": "replace", "path": "/size", "value": 1}], headers=patch).status_code == 403
    assert api("DELETE", url).status_code == 204
    assert not (cloud.state_dir / "images" / image["id"]).exists()
    assert api("GET", url).status_code == 404
    assert vmtp_local.id in [i["id"] for i in api("GET", f"{GLANCE}/images").json()["images"]]


# --- SR-IOV ports -----------------------------------------------------------------------------

def test_sriov_ports_bypass_the_bridge_and_the_security_groups(conn, nets, key) -> None:
    """direct (a macvlan) and macvtap ports on VLAN 199, one per compute host, tagged 199 on
    the physical network between them; a port of the same security group (SSH only) that is
    normal drops the pings the VFs let through."""
    bad = None
    try:
        conn.network.create_port(network_id=nets["vlan"].id, binding_vnic_type="sriov")
    except openstack.exceptions.BadRequestException as exc:
        bad = str(exc)
    assert bad is not None and "Invalid input for binding:vnic_type. Reason: 'sriov' is not in" in bad
    servers, ports = [], []
    try:
        for vnic, host in (("direct", "compute1"), ("macvtap", "compute2"), ("normal", "compute2")):
            port = conn.network.create_port(network_id=nets["vlan"].id, binding_vnic_type=vnic,
                                            security_group_ids=[nets["group"].id], name=f"p-{vnic}")
            ports.append(port)
            assert port.binding_vif_type == "unbound"
            servers.append(boot(conn, f"vf-{vnic}", networks=[{"port": port.id}],
                                availability_zone=f"nova:{host}"))
        bound = [conn.network.get_port(p.id) for p in ports]
        assert [(p.binding_vif_type, p.binding_host_id, p.status) for p in bound] == [
            ("hw_veb", "compute1", "ACTIVE"), ("hw_veb", "compute2", "ACTIVE"), ("ovs", "compute2", "ACTIVE")]
        assert bound[0].binding_vif_details == {"port_filter": False, "vlan": "199", "connectivity": "l2"}
        assert bound[1].binding_profile == {"physical_network": "physnet1"}
        assert " macvlan mode bridge " in in_vm(servers[0], "ip", "-d", "link", "show", "eth0")
        assert " macvtap mode bridge " in in_vm(servers[1], "ip", "-d", "link", "show", "eth0")
        ips = [p.fixed_ips[0]["ip_address"] for p in bound]
        assert [pings(ip) for ip in ips] == [True, True, False]  # no ICMP rule: only the normal port filters
        assert ssh(key, ips[2], "true").returncode == 0  # ... and lets SSH in as its group says
        tags = vlan_ids_on(f"{PREFIX}-p1c2", lambda: ssh(key, ips[0], f"ping -c 3 -i 0.2 -W 1 {ips[1]}"),
                           (ips[0], ips[1]))
        assert tags == {199}  # VF to VF across the hosts: tagged as the segment, as an SR-IOV NIC does
        conn.compute.delete_server(servers[0])
        conn.compute.wait_for_delete(servers[0], interval=0.1, wait=60)
        left = conn.network.get_port(ports[0].id)  # made by the user: Nova leaves it, unbound
        assert (left.device_id, left.binding_host_id, left.binding_vif_type) == ("", "", "unbound")
    finally:
        for server in servers:
            conn.compute.delete_server(server, ignore_missing=True)
        for server in servers:
            conn.compute.wait_for_delete(server, interval=0.1, wait=60)
        for port in ports:
            conn.network.delete_port(port, ignore_missing=True)


def test_an_sriov_port_on_a_vxlan_network_fails_its_binding_as_neutron(conn, nets, key) -> None:
    port = conn.network.create_port(network_id=nets["tenant"].id, binding_vnic_type="direct")
    server = boot(conn, "vf-vxlan", wait=False, networks=[{"port": port.id}])
    try:
        server = conn.compute.wait_for_status(server, "ERROR", failures=[], interval=0.1, wait=30)
        assert server.fault["message"] == (f"Build of instance {server.id} aborted: Binding failed for port "
                                           f"{port.id}, please check neutron logs for more information.")
        assert conn.network.get_port(port.id).binding_vif_type == "binding_failed"
    finally:
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=0.1, wait=60)
        conn.network.delete_port(port)


# --- config drive, user data, DHCP ----------------------------------------------------------------

def test_without_dhcp_a_vm_has_the_address_its_config_drive_gives_or_none(conn, nets, key) -> None:
    user_data = b"#!/bin/sh\necho 'user data'\n"
    with_drive = boot(conn, "with-drive", networks=[{"uuid": nets["flat"].id}], config_drive=True,
                      user_data=base64.b64encode(user_data).decode(), metadata={"role": "test"})
    without = boot(conn, "without-drive", networks=[{"uuid": nets["flat"].id}])
    try:
        assert (with_drive.has_config_drive, conn.compute.get_server(without.id).has_config_drive) in (
            (True, False), ("True", ""))
        ip = with_drive.addresses["flat"][0]["addr"]
        assert "inet " not in in_vm(without, "ip", "-4", "addr", "show", "eth0")  # no DHCP: no address
        assert f"inet {ip}/26" in in_vm(with_drive, "ip", "-4", "addr", "show", "eth0")
        read = ssh(key, ip, "cd $VMTP_CONFIG_DRIVE/openstack/latest && cat user_data && echo @@ && "
                            "cat meta_data.json && echo @@ && cat network_data.json")
        assert read.returncode == 0, read.stderr
        drive_user_data, meta, network = read.stdout.split("@@\n")
        assert drive_user_data.encode() == user_data
        meta_doc, network_doc = json.loads(meta), json.loads(network)
        assert (meta_doc["uuid"], meta_doc["name"], meta_doc["meta"], meta_doc["hostname"]) == (
            with_drive.id, "with-drive", {"role": "test"}, "with-drive.novalocal")
        assert meta_doc["public_keys"] == {"k": Path(f"{key}.pub").read_text().strip()}
        port = next(conn.network.ports(device_id=with_drive.id))
        assert network_doc == {
            "links": [{"id": f"tap{port.id[:11]}", "vif_id": port.id, "type": "ovs", "mtu": 1500,
                       "ethernet_mac_address": port.mac_address}],
            "networks": [{"id": "network0", "link": f"tap{port.id[:11]}", "network_id": nets["flat"].id,
                          "type": "ipv4", "ip_address": ip, "netmask": "255.255.255.192",
                          "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "198.18.199.193"}]}],
            "services": [{"type": "dns", "address": "192.0.2.53"}]}
    finally:
        for server in (with_drive, without):
            conn.compute.delete_server(server)
        for server in (with_drive, without):
            conn.compute.wait_for_delete(server, interval=0.1, wait=60)


def test_with_dhcp_the_drive_leaves_the_address_to_dhcp(conn, nets, key) -> None:
    server = boot(conn, "dhcp-drive", networks=[{"uuid": nets["vlan"].id}], config_drive="true")
    try:
        ip = server.addresses["vlan199"][0]["addr"]
        read = ssh(key, ip, "cat $VMTP_CONFIG_DRIVE/openstack/latest/network_data.json")
        assert json.loads(read.stdout)["networks"][0]["type"] == "ipv4_dhcp"
        assert ssh(key, ip, "test -e $VMTP_CONFIG_DRIVE/openstack/latest/user_data").returncode == 1
    finally:
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=0.1, wait=60)


@pytest.mark.parametrize("extra, message", [
    ({"user_data": "not base64!"}, "Invalid input for field/attribute user_data. Value: not base64!. "
                                   "'not base64!' is not a 'base64'"),
    ({"user_data": "QQ==" * 16384}, "is too long (more than 65535 characters)"),
    ({"config_drive": "maybe"}, "Invalid input for field/attribute config_drive. Value: maybe."),
])
def test_bad_boot_data_is_novas_400(api: Api, conn, nets, extra, message) -> None:
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    body = {"server": {"name": "bad", "imageRef": image.id, "flavorRef": "1", "networks": "none", **extra}}
    resp = api("POST", f"{NOVA}/servers", json=body)
    assert resp.status_code == 400 and message in resp.json()["badRequest"]["message"]


def test_floating_ip_and_gateway_ports_count_against_no_project(api: Api, conn, nets) -> None:
    """As Neutron: they have no project, so a project's port quota does not count them."""
    project = conn.current_project_id
    details = f"/network/v2.0/quotas/{project}/details"
    used = api("GET", details).json()["quota"]["port"]["used"]
    public = conn.network.find_network("public", ignore_missing=False)
    router = conn.network.create_router(name="r", external_gateway_info={"network_id": public.id})
    fip = conn.network.create_ip(floating_network_id=public.id)
    try:
        assert api("GET", details).json()["quota"]["port"]["used"] == used
        assert {p.project_id for p in conn.network.ports(network_id=public.id)} == {""}
    finally:
        conn.network.delete_ip(fip)
        conn.network.delete_router(router)


# --- who may ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def member(cloud: CloudHandle) -> Iterator[openstack.connection.Connection]:
    """The cloud's member user (demo, project demo), from its clouds.yaml entry."""
    config = openstack.config.OpenStackConfig(config_files=[str(cloud.clouds_yaml)])
    connection = openstack.connection.Connection(config=config.get_one(control.MEMBER_CLOUD_NAME))
    yield connection
    connection.close()


def test_a_member_makes_images_of_its_own_but_no_flavors_nor_public_images(conn, member) -> None:
    with pytest.raises(openstack.exceptions.ForbiddenException,
                       match="Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed."):
        member.compute.create_flavor(name="members", vcpus=1, ram=64, disk=0)
    flavor = conn.compute.create_flavor(name="admins", vcpus=1, ram=64, disk=0)
    try:
        with pytest.raises(openstack.exceptions.ForbiddenException, match="os-flavor-extra-specs:create"):
            member.compute.create_flavor_extra_specs(flavor, {"hw:cpu_policy": "dedicated"})
        with pytest.raises(openstack.exceptions.ForbiddenException, match="os-flavor-manage:delete"):
            member.compute.delete_flavor(flavor)
    finally:
        conn.compute.delete_flavor(flavor)
    with pytest.raises(openstack.exceptions.ForbiddenException) as refused:
        member.image.create_image(name="for-all", data=b"x", disk_format="raw", container_format="bare",
                                  visibility="public", allow_duplicates=True)
    assert "You are not authorized to complete publicize_image action." in refused.value.response.text
    own = member.image.create_image(name="demo-image", data=b"demo's", disk_format="raw", container_format="bare",
                                    allow_duplicates=True)
    try:
        assert (own.owner, own.visibility) == (member.current_project_id, "shared")
        assert "demo-image" in [i.name for i in conn.image.images()]  # an admin sees every image
        admins = conn.image.create_image(name="admin-image", data=b"admin's", disk_format="raw",
                                         container_format="bare", allow_duplicates=True)
        assert "admin-image" not in [i.name for i in member.image.images()]  # another project's
        conn.image.delete_image(admins)
        public = member.image.find_image("vmtp-local", ignore_missing=False)
        with pytest.raises(openstack.exceptions.ForbiddenException) as refused:
            member.image.delete_image(public)
        assert "You are not permitted to delete this image." in refused.value.response.text
    finally:
        member.image.delete_image(own)
