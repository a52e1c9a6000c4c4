"""A run's topology on the local cloud: lazy building, placement, tags, SSH, cleanup.

The tests share one run (module scope) and follow its life: build, inspect, dry-run, clean.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_vmtp.cloud import Topology, cleanup, metadata, new_run_id, wait_for_port
from pytest_vmtp.cloud.naming import run_tag

from .conftest import FLOATING_PREFIX, local_settings
from .inventory import inventory, is_empty


@pytest.fixture(scope="module")
def topo(conn, tmp_path_factory: pytest.TempPathFactory):
    rid = new_run_id()
    messages: list[str] = []
    t = Topology(conn, local_settings(), rid, tmp_path_factory.mktemp("shared"), progress=messages.append)
    t.messages = messages  # type: ignore[attr-defined]
    try:
        yield t
    finally:
        cleanup(conn, rid)


def test_same_intra_builds_one_network_and_two_vms(topo: Topology, conn):
    ep = topo.vm("same_intra")
    rid = topo.run_id
    inv = inventory(conn, rid)
    assert inv["servers"] == [f"vmtp-{rid}-same-intra", f"vmtp-{rid}-server"]
    assert inv["networks"] == [f"vmtp-{rid}-net1"]
    assert inv["routers"] == [f"vmtp-{rid}-router"] and len(inv["floating_ips"]) == 2
    assert inv["security_groups"] == [f"vmtp-{rid}-secgroup"] and inv["keypairs"] == [f"vmtp-{rid}-key"]
    server = topo.vm("server")
    assert ep.network == server.network == f"vmtp-{rid}-net1"
    assert ep.fixed_ip.startswith("192.168.1.") and server.fixed_ip.startswith("192.168.1.")
    assert ep.host and ep.host == server.host  # intra-node: the server's host
    assert ep.login_user == "root" and Path(ep.key_path).stat().st_mode & 0o077 == 0
    assert any("booting 2 server(s)" in m and "ACTIVE in" in m for m in topo.messages)


def test_ssh_port_open_on_floating_ips(topo: Topology):
    for role in ("server", "same_intra"):
        ep = topo.vm(role)
        assert ep.floating_ip and ep.floating_ip.startswith(FLOATING_PREFIX) and ep.ssh_ip == ep.floating_ip
        assert wait_for_port(ep.ssh_ip, 22, 10, expect=b"SSH-") < 10
    assert topo.floating_ip_of("server") == topo.vm("server").floating_ip


def test_inter_and_diff_roles_boot_together(topo: Topology, conn):
    assert topo.inter_node_reason() is None
    eps = topo.vms(["same_inter", "diff_intra", "diff_inter"])
    server = topo.vm("server")
    assert eps["same_inter"].host and eps["same_inter"].host != server.host
    assert eps["diff_inter"].host == eps["same_inter"].host
    assert eps["diff_intra"].host == server.host
    assert eps["diff_intra"].network == eps["diff_inter"].network == f"vmtp-{topo.run_id}-net2"
    assert eps["diff_inter"].fixed_ip.startswith("192.168.2.")
    assert any("booting 3 server(s)" in m for m in topo.messages)
    assert len(inventory(conn, topo.run_id)["servers"]) == 5
    assert {"setup_s", "boot_s", "ssh_wait_s"} <= set(topo.timings)


def test_resources_carry_the_run_mark(topo: Topology, conn):
    rid, tag = topo.run_id, run_tag(topo.run_id)
    net = conn.network
    marked = [n for n in net.networks() if n.name.startswith(f"vmtp-{rid}-")]
    marked += [s for s in net.subnets() if s.name.startswith(f"vmtp-{rid}-")]
    marked += [r for r in net.routers() if r.name.startswith(f"vmtp-{rid}-")]
    marked += [g for g in net.security_groups() if g.name.startswith(f"vmtp-{rid}-")]
    marked += [f for f in net.ips() if (f.description or "").startswith(f"vmtp-{rid}-")]
    assert len(marked) == 2 + 2 + 1 + 1 + 5
    for res in marked:
        assert {"vmtp", tag} <= set(res.tags or []), f"{res.name} tags {res.tags}"
    for server in conn.compute.servers(details=True):
        if server.name.startswith(f"vmtp-{rid}-"):
            assert server.metadata.get("vmtp_run_id") == rid
            assert {"vmtp", tag} <= set(server.tags or [])


def test_metadata_describes_cloud_and_placement(topo: Topology, conn):
    meta = metadata(conn, topo)
    assert meta["cloud"] == "local" and meta["auth_url"].startswith("http://127.0.0.1")
    assert meta["api_versions"]["compute"].get("version", "").startswith("2")
    assert meta["image"] == "vmtp-local" and meta["flavor"] == "m1.tiny"
    assert meta["networks"]["net1"]["mtu"] and meta["networks"]["net1"]["cidr"] == "192.168.1.0/24"
    assert meta["vms"]["same_inter"]["host"] != meta["vms"]["server"]["host"]
    assert "password" not in repr(meta)


def test_dry_run_deletes_nothing(topo: Topology, conn):
    before = inventory(conn, topo.run_id)
    would = cleanup(conn, topo.run_id, dry_run=True)
    assert f"server vmtp-{topo.run_id}-server" in would and f"network vmtp-{topo.run_id}-net2" in would
    assert inventory(conn, topo.run_id) == before


def test_cleanup_leaves_nothing_of_the_run(topo: Topology, conn):
    other = new_run_id()  # an untouched run id: cleanup of one run never sees another's
    deleted = cleanup(conn, topo.run_id)  # what the controller runs at the session's end
    assert is_empty(inventory(conn, topo.run_id)), inventory(conn, topo.run_id)
    assert any(d.startswith("router interface") for d in deleted)
    assert cleanup(conn, topo.run_id) == [] and cleanup(conn, other) == []
