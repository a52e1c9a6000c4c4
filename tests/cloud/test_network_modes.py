"""Network modes of the topology against the local cloud (which has an external network):
no floating IPs, reused networks with and without a way to floating IPs, small quotas."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_vmtp.cloud import CloudError, Topology
from pytest_vmtp.cloud.modes import NEED_FLOATING_IP, NEED_NET2, NEED_SSH

from .conftest import local_settings
from .inventory import inventory


def test_no_floating_ip_router_has_no_gateway_and_unreachable_vms_say_why(conn, run_id: str, tmp_path: Path):
    """--vmtp-no-floating-ip on a cloud whose VMs this machine cannot reach directly: the
    router gets no gateway, no floating IP is made, and the VM fails in one line saying what
    to do (this machine reaches no tenant network of the local cloud)."""
    topo = Topology(conn, local_settings(use_floating_ips=False, ssh_timeout_s=2), run_id, tmp_path)
    assert topo.network_plan().ssh == "fixed"
    with pytest.raises(CloudError) as info:
        topo.vm("server")
    assert str(info.value).endswith(
        "SSH goes to the fixed IP without a floating IP (floating IPs are off (--vmtp-no-floating-ip)): "
        "this machine must reach the VMs' network (a provider network), else give --vmtp-ssh-jump user@host")
    router = conn.network.find_router(f"vmtp-{run_id}-router")
    assert router is not None and not router.external_gateway_info
    assert inventory(conn, run_id)["floating_ips"] == []
    with pytest.raises(CloudError, match=r"^floating IPs are off \(--vmtp-no-floating-ip\)$"):
        topo.floating_ip_of("server")


@pytest.fixture
def user_network(conn):
    """A network of the user's, behind nothing (then behind the user's router)."""
    net = conn.network.create_network(name="user-net")
    subnet = conn.network.create_subnet(network_id=net.id, cidr="10.88.0.0/24", ip_version=4)
    routers = []
    yield net, subnet, routers
    for router in routers:
        conn.network.remove_interface_from_router(router, subnet_id=subnet.id)
        conn.network.delete_router(router)
    conn.network.delete_network(net)


def test_a_reused_network_has_floating_ips_only_behind_a_router(conn, run_id: str, tmp_path: Path,
                                                                  user_network) -> None:
    net, subnet, routers = user_network
    alone = Topology(conn, local_settings(networks=["user-net"]), run_id, tmp_path / "a").network_plan()
    assert alone.ssh == "fixed" and alone.router == "none" and alone.unavailable(NEED_SSH) is None
    assert alone.unavailable(NEED_FLOATING_IP).reason == (
        "network user-net is not behind a router with a gateway on external network public (a provider "
        "network?): the floating-IP rows need one")
    assert alone.unavailable(NEED_NET2).reason.startswith("--vmtp-network user-net gives one network")
    public = conn.network.find_network("public")
    router = conn.network.create_router(name="user-r", external_gateway_info={"network_id": public.id})
    routers.append(router)
    conn.network.add_interface_to_router(router, subnet.id)
    behind = Topology(conn, local_settings(networks=["user-net"]), run_id, tmp_path / "b").network_plan()
    assert behind.ssh == "floating" and behind.unavailable(NEED_FLOATING_IP) is None
    assert not any(inventory(conn, run_id).values())  # deciding makes nothing


def test_a_missing_reused_resource_is_one_line(conn, run_id: str, tmp_path: Path) -> None:
    for settings, message in [
        ({"networks": ["nope"]}, "network 'nope' not found: check --vmtp-network"),
        ({"router": "nope"}, "router 'nope' not found: check router: in the --vmtp-config file"),
    ]:
        with pytest.raises(CloudError) as info:
            Topology(conn, local_settings(**settings), run_id, tmp_path / next(iter(settings))).vm("server")
        assert str(info.value).startswith(message)
    assert not any(inventory(conn, run_id).values())


def test_a_short_network_quota_is_one_line(conn, run_id: str, tmp_path: Path) -> None:
    project = conn.current_project_id
    used = sum(1 for _ in conn.network.networks())
    conn.network.update_quota(project, networks=used)
    try:
        with pytest.raises(CloudError) as info:
            Topology(conn, local_settings(), run_id, tmp_path).vm("server")
    finally:
        conn.network.update_quota(project, networks=100)
    assert str(info.value) == (f"the project's quotas are short for this run: networks: needs 1, 0 free (limit {used}, "
                               f"{used} in use): raise them (openstack quota set), or select fewer rows")
    assert not any(inventory(conn, run_id).values())  # said before anything was made
