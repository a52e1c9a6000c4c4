"""Placement on the local cloud: explicit hypervisors, one host only, and the non-admin way."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_vmtp.cloud import CloudError, Topology

from .conftest import local_settings
from .inventory import inventory
from .test_faults import faults  # noqa: F401 - fixture


def test_explicit_hypervisors_force_hosts(conn, run_id: str, tmp_path: Path):
    topo = Topology(conn, local_settings(hypervisors=["nova:compute2", "compute1"]), run_id, tmp_path)
    assert topo.placement().mode == "explicit" and topo.inter_node_reason() is None
    eps = topo.vms(["same_intra", "same_inter"])
    assert topo.vm("server").host == eps["same_intra"].host == "compute2"
    assert eps["same_inter"].host == "compute1"


def test_one_hypervisor_gives_a_skip_reason(conn, run_id: str, tmp_path: Path):
    topo = Topology(conn, local_settings(hypervisors=["compute1"]), run_id, tmp_path)
    reason = topo.inter_node_reason()
    assert reason == "only one --vmtp-hypervisor given (compute1): inter-node flows need two hosts"
    with pytest.raises(CloudError, match=f"^vmtp-{run_id}-same-inter: only one --vmtp-hypervisor"):
        topo.vm("same_inter")
    assert topo.vm("same_intra").host == "compute1"  # intra-node roles still work
    assert len(inventory(conn, run_id)["servers"]) == 2


def test_without_admin_server_groups_place_the_vms(conn, run_id: str, tmp_path: Path, faults):
    """Listing compute services is refused (as for a non-admin user): server groups and hints."""
    faults({"api_errors": [{"method": "GET", "path": "/os-services", "status": 403, "count": 1,
                            "message": "Policy doesn't allow os_compute_api:os-services:list to be performed."}]})
    topo = Topology(conn, local_settings(), run_id, tmp_path)
    assert topo.placement().mode == "scheduler" and topo.inter_node_reason() is None
    eps = topo.vms(["same_intra", "same_inter"])
    server = topo.vm("server")
    assert eps["same_intra"].host_id == server.host_id != eps["same_inter"].host_id
    assert inventory(conn, run_id)["server_groups"] == [f"vmtp-{run_id}-group-a", f"vmtp-{run_id}-group-b"]
