"""Upstream's default policies on the local cloud, seen by a project member (user demo, cloud
`local-member`): what only an admin may do is Nova's or Neutron's 403 with their words; another
project's resources are not there (lists) or not found (GET, PUT, DELETE: 404); quotas are per
project; and two projects working at once never see each other's networks, ports or servers."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from .conftest import Conn, connect_as, http

NOVA_403 = "Policy doesn't allow {} to be performed."


def neutron_403(message: str) -> dict[str, Any]:
    return {"NeutronError": {"type": "PolicyNotAuthorized", "message": message, "detail": ""}}


def test_what_only_an_admin_may_do_is_a_403(cloud, admin: Conn, member: Conn) -> None:
    call = http(cloud)
    token = member.session.get_token()
    for path, rule in (("/os-hypervisors", "os-hypervisors:list"),
                       ("/os-hypervisors/detail", "os-hypervisors:list-detail"),
                       ("/os-services", "os-services:list"),
                       ("/os-availability-zone/detail", "os-availability-zone:detail"),
                       ("/servers/detail?all_tenants=1", "servers:detail:get_all_tenants")):
        resp = call("GET", "/compute/v2.1" + path, token=token)
        assert resp.status_code == 403, path
        assert resp.json() == {"forbidden": {"code": 403, "message": NOVA_403.format(
            f"os_compute_api:{rule}")}}
    with pytest.raises(sdk_exc.ForbiddenException):
        list(member.compute.hypervisors())
    assert [z.name for z in member.compute.availability_zones()] == ["nova"]  # the list is anyone's

    for body, rules in (
            ({"router:external": True}, ["router:external"]),
            ({"shared": True}, ["shared"]),
            ({"provider:network_type": "flat", "provider:physical_network": "physnet1"},
             ["provider:network_type", "provider:physical_network"]),
            ({"provider:network_type": "vlan", "provider:physical_network": "physnet1",
              "provider:segmentation_id": 171},
             ["provider:network_type", "provider:physical_network", "provider:segmentation_id"])):
        resp = call("POST", "/network/v2.0/networks", token=token,
                    json={"network": {"name": "not-mine", **body}})
        text = "rule:create_network"
        for rule in rules:
            text = f"({text} and rule:create_network:{rule})"
        assert resp.status_code == 403 and resp.json() == neutron_403(
            f"{text} is disallowed by policy")
    foreign = call("POST", "/network/v2.0/networks", token=token,
                   json={"network": {"name": "theirs", "project_id": admin.current_project_id}})
    assert foreign.json() == neutron_403("rule:create_network is disallowed by policy")
    with pytest.raises(sdk_exc.ForbiddenException, match="rule:create_network:router:external"):
        member.network.create_network(name="ext", is_router_external=True)
    assert not [n for n in admin.network.networks() if n.name in ("not-mine", "theirs", "ext")]

    net = member.network.create_network(name="policy-net")
    member.network.create_subnet(network_id=net.id, cidr="10.188.0.0/24", ip_version=4)
    seen = call("GET", f"/network/v2.0/networks/{net.id}", token=token).json()["network"]
    assert "provider:network_type" not in seen  # get_network:provider:* is an admin's
    assert admin.network.get_network(net.id).provider_network_type == "vxlan"
    image = member.image.find_image("vmtp-local", ignore_missing=False)
    for zone in ("nova:compute1", "nova::compute2", ":compute1"):
        with pytest.raises(sdk_exc.ForbiddenException) as forced:
            member.compute.create_server(name="forced", image_id=image.id, flavor_id="1",
                                         networks=[{"uuid": net.id}], availability_zone=zone)
        assert NOVA_403.format("os_compute_api:servers:create:forced_host") in str(forced.value)
    assert not list(admin.compute.servers(all_projects=True))
    member.network.delete_network(net)

    project = member.current_project_id
    for method, path, body, status, words in (
            ("PUT", f"/compute/v2.1/os-quota-sets/{project}", {"quota_set": {"instances": 99}},
             403, NOVA_403.format("os_compute_api:os-quota-sets:update")),
            ("PUT", f"/network/v2.0/quotas/{project}", {"quota": {"network": 999}}, 403,
             "rule:update_quota is disallowed by policy"),
            ("GET", "/network/v2.0/quotas", None, 403, "Only admin can view or configure quota"),
            ("GET", f"/compute/v2.1/os-quota-sets/{admin.current_project_id}", None, 403,
             NOVA_403.format("os_compute_api:os-quota-sets:show")),
            ("POST", "/admin/faults", {"boot_delay": 60}, 403,
             "You are not authorized to perform the requested action: localcloud:faults.")):
        resp = call(method, path, token=token, json=body)
        assert resp.status_code == status and words in resp.text, (path, resp.text)


def test_another_projects_resources_are_not_there(cloud, admin: Conn, member: Conn) -> None:
    """The admin's network, subnet, port, router, security group, server group and key pair:
    a member's lists leave them out, GET/PUT/DELETE are 404, and using them is refused as not
    found; the admin, as Neutron's admin, sees the member's."""
    net = admin.network.create_network(name="admins-net")
    subnet = admin.network.create_subnet(network_id=net.id, cidr="10.189.0.0/24", ip_version=4)
    port = admin.network.create_port(network_id=net.id, name="admins-port")
    router = admin.network.create_router(name="admins-router")
    group = admin.network.create_security_group(name="admins-sg")
    server_group = admin.compute.create_server_group(name="admins-group", policy="affinity")
    admin.compute.create_keypair(name="same-name")
    mine = member.network.create_network(name="members-net")
    my_router = member.network.create_router(name="members-router")
    try:
        assert [n.name for n in member.network.networks()] == ["public", "members-net"]
        assert not [p for p in member.network.ports() if p.id == port.id]
        assert [r.name for r in member.network.routers()] == ["members-router"]
        assert "admins-sg" not in [g.name for g in member.network.security_groups()]
        assert [s.cidr for s in member.network.subnets()] == []  # public's is not shared
        assert [g.name for g in member.compute.server_groups()] == []
        assert [k.name for k in member.compute.keypairs()] == []
        assert {"admins-net", "members-net"} <= {n.name for n in admin.network.networks()}

        call = http(cloud)
        token = member.session.get_token()
        for kind, item_id, error in (("networks", net.id, "NetworkNotFound"),
                                     ("subnets", subnet.id, "SubnetNotFound"),
                                     ("ports", port.id, "PortNotFound"),
                                     ("routers", router.id, "RouterNotFound"),
                                     ("security-groups", group.id, "SecurityGroupNotFound")):
            for method in ("GET", "PUT", "DELETE"):
                resp = call(method, f"/network/v2.0/{kind}/{item_id}", token=token,
                            json={kind.rstrip("s").replace("-", "_"): {"name": "mine now"}})
                assert resp.status_code == 404, (method, kind, resp.text)
                assert resp.json()["NeutronError"]["type"] == error
        resp = call("GET", f"/compute/v2.1/os-server-groups/{server_group.id}", token=token)
        assert resp.status_code == 404 and resp.json()["itemNotFound"]["message"] == \
            f"Instance group {server_group.id} could not be found."
        with pytest.raises(sdk_exc.NotFoundException, match="NetworkNotFound|could not be found"):
            member.network.create_port(network_id=net.id)
        with pytest.raises(sdk_exc.NotFoundException):
            member.network.add_interface_to_router(my_router, subnet.id)
        member.compute.create_keypair(name="same-name")  # key pairs are per user
        assert [k.name for k in member.compute.keypairs()] == ["same-name"]
        assert admin.network.get_port(port.id).name == "admins-port"  # untouched
    finally:
        for conn in (admin, member):
            conn.compute.delete_keypair("same-name", ignore_missing=True)
        admin.compute.delete_server_group(server_group)
        admin.network.delete_port(port)
        admin.network.delete_router(router)
        admin.network.delete_security_group(group)
        admin.network.delete_network(net)
        member.network.delete_router(my_router)
        member.network.delete_network(mine)


def test_each_project_has_its_own_quotas(cloud, admin: Conn, member: Conn) -> None:
    project = member.current_project_id
    call = http(cloud)
    token = admin.session.get_token()
    used = len(list(member.network.networks(project_id=project)))
    call("PUT", f"/network/v2.0/quotas/{project}", token=token,
         json={"quota": {"network": used + 1}}).raise_for_status()
    call("PUT", f"/compute/v2.1/os-quota-sets/{project}", token=token,
         json={"quota_set": {"instances": 0}}).raise_for_status()
    made = []
    try:
        made.append(member.network.create_network(name="quota-1"))
        with pytest.raises(sdk_exc.ConflictException, match=r"Quota exceeded for resources: "
                                                            r"\['network'\]"):
            member.network.create_network(name="quota-2")
        made.append(admin.network.create_network(name="quota-admin"))  # not the admin's quota
        details = member.network.get_quota(project, details=True)
        assert (details.networks["limit"], details.networks["used"]) == (used + 1, used + 1)
        assert member.compute.get_limits().absolute.instances == 0
        assert admin.compute.get_limits().absolute.instances == 10
        image = member.image.find_image("vmtp-local", ignore_missing=False)
        with pytest.raises(sdk_exc.ForbiddenException, match="Quota exceeded for instances: "
                                                             "Requested 1, but already used 0 of 0"):
            member.compute.create_server(name="over", image_id=image.id, flavor_id="1",
                                         networks=[{"uuid": made[0].id}])
    finally:
        call("PUT", f"/network/v2.0/quotas/{project}", token=token,
             json={"quota": {"network": 100}}).raise_for_status()
        call("PUT", f"/compute/v2.1/os-quota-sets/{project}", token=token,
             json={"quota_set": {"instances": 10}}).raise_for_status()
        for net in made:
            admin.network.delete_network(net)


WORKERS, ROUNDS = 4, 3  # per project


def test_two_projects_under_concurrent_load_never_see_each_other(cloud, admin: Conn) -> None:
    """Project demo and a project made here, 4 openstacksdk clients each, at once: networks,
    subnets and ports created, listed and deleted in rounds, and a server per client booted,
    listed and deleted. Every listing holds only its own project's resources (and `public`);
    the other project's are 404; nothing is left."""
    project_b = admin.identity.create_project(name="iso-b", domain_id="default")
    user_b = admin.identity.create_user(name="iso-b", password="iso-b-pw", domain_id="default")
    admin.identity.assign_project_role_to_user(
        project_b, user_b, admin.identity.find_role("member", ignore_missing=False))
    logins = {"demo": ("demo", _password(cloud, "local-member"), "demo"),
              "iso-b": ("iso-b", "iso-b-pw", "iso-b")}
    image = admin.image.find_image("vmtp-local", ignore_missing=False)
    created: dict[str, set[str]] = {p: set() for p in logins}
    seen: dict[str, set[str]] = {p: set() for p in logins}
    lock = threading.Lock()
    subnet_octet = itertools.count(1)

    def work(project: str, index: int) -> str:
        conn = connect_as(cloud, *logins[project])
        try:
            pid = conn.current_project_id
            for round_ in range(ROUNDS):
                net = conn.network.create_network(name=f"{project}-{index}-{round_}")
                subnet = conn.network.create_subnet(
                    network_id=net.id, ip_version=4, cidr=f"10.{190 + index}.{next(subnet_octet)}.0/24")
                port = conn.network.create_port(network_id=net.id)
                server = None
                if round_ == 0:
                    server = conn.compute.create_server(
                        name=f"{project}-vm-{index}", image_id=image.id, flavor_id="1",
                        networks=[{"uuid": net.id}])
                with lock:
                    created[project] |= {net.id, subnet.id, port.id} | (
                        {server.id} if server else set())
                listed = [*conn.network.networks(), *conn.network.subnets(),
                          *conn.network.ports(), *conn.compute.servers()]
                assert net.id in {i.id for i in listed} and port.id in {i.id for i in listed}
                for item in listed:
                    owner = getattr(item, "project_id", None)
                    assert owner == pid or getattr(item, "name", "") == "public" or (
                        getattr(item, "device_owner", "") == "network:router_gateway"), item
                with lock:
                    seen[project] |= {i.id for i in listed}
                if server is not None:
                    server = conn.compute.wait_for_server(server, interval=0.2, wait=120)
                    assert server.compute_host is None and server.host_id  # no host for members
                    conn.compute.delete_server(server)
                    conn.compute.wait_for_delete(server, interval=0.2, wait=120)
                conn.network.delete_port(port)
                conn.network.delete_subnet(subnet)
                conn.network.delete_network(net)
            return project
        finally:
            conn.close()

    try:
        with ThreadPoolExecutor(max_workers=2 * WORKERS) as pool:
            jobs = [pool.submit(work, p, i) for i in range(WORKERS) for p in logins]
            assert sorted(j.result(timeout=300) for j in jobs) == sorted(list(logins) * WORKERS)
        assert len(created["demo"]) == len(created["iso-b"]) == WORKERS * (3 * ROUNDS + 1)
        assert not seen["demo"] & created["iso-b"]
        assert not seen["iso-b"] & created["demo"]
        everything = {n.id for n in admin.network.networks()} | \
            {p.id for p in admin.network.ports()} | \
            {s.id for s in admin.compute.servers(all_projects=True)}
        assert not everything & (created["demo"] | created["iso-b"])  # all deleted
    finally:
        admin.identity.delete_user(user_b)
        admin.identity.delete_project(project_b)


def _password(cloud, entry: str) -> str:
    import yaml

    return str(yaml.safe_load(cloud.clouds_yaml.read_text())["clouds"][entry]["auth"]["password"])
