"""How the topology and cleanup cope with a misbehaving cloud (the local cloud's faults.yaml)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pytest_vmtp.cloud import CloudError, Topology, cleanup

from .conftest import local_settings
from .inventory import inventory, is_empty

NO_FAULTS = {"boot_errors": {"count": 0}, "boot_delay": 0, "no_sshd": {"count": 0}, "api_errors": []}


@pytest.fixture
def faults(localcloud: Path) -> Iterator[callable]:
    """Write the local cloud's fault document; every fault is cleared after the test."""
    path = localcloud.parent / "faults.yaml"

    def inject(doc: dict) -> None:
        path.write_text(yaml.safe_dump({**NO_FAULTS, **doc}))
        time.sleep(0.05)  # a new mtime for the next write

    yield inject
    inject({})


def test_server_error_carries_the_fault_message(conn, run_id: str, tmp_path: Path, faults):
    faults({"boot_errors": {"count": 1, "message": "No valid host was found. There are not enough hosts."}})
    topo = Topology(conn, local_settings(), run_id, tmp_path)
    with pytest.raises(CloudError) as info:
        topo.vm("server")
    assert str(info.value) == (f"server vmtp-{run_id}-server went to ERROR: "
                               "No valid host was found. There are not enough hosts.")
    with pytest.raises(CloudError, match="went to ERROR"):  # recorded: not booted again
        topo.vm("server")
    assert len(inventory(conn, run_id)["servers"]) == 1


def test_one_broken_vm_fails_only_its_role(conn, run_id: str, tmp_path: Path, faults):
    faults({"no_sshd": {"count": 1, "name": "-diff-intra$"}})
    topo = Topology(conn, local_settings(ssh_timeout_s=3), run_id, tmp_path)
    with pytest.raises(CloudError, match=f"^vmtp-{run_id}-diff-intra: .* not reachable after 3 s"):
        topo.vms(["same_intra", "diff_intra"])
    assert set(topo.vms(["same_intra", "diff_intra"], strict=False)) == {"same_intra"}
    assert topo.vm("same_intra").ssh_ip


def test_quota_exceeded_is_one_line(conn, run_id: str, tmp_path: Path, faults):
    faults({"api_errors": [{"method": "POST", "path": "/servers$", "status": 403, "count": 1,
                            "message": "Quota exceeded for instances: Requested 1, but already used 10 of 10 "
                                       "instances"}]})
    topo = Topology(conn, local_settings(), run_id, tmp_path)
    with pytest.raises(CloudError) as info:
        topo.vm("server")
    assert str(info.value) == (f"quota exceeded while creating server vmtp-{run_id}-server: "
                               "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances")


def test_vm_without_sshd_times_out_clearly(conn, run_id: str, tmp_path: Path, faults):
    faults({"no_sshd": {"count": 1, "name": "-server$"}})
    topo = Topology(conn, local_settings(ssh_timeout_s=3), run_id, tmp_path)
    with pytest.raises(CloudError, match=r"^vmtp-\w+-server: 198\.18\.31\.\d+:22 not reachable after 3 s"):
        topo.vm("server")


def test_cleanup_retries_conflicts(conn, run_id: str, tmp_path: Path, faults):
    Topology(conn, local_settings(), run_id, tmp_path).vm("server")
    faults({"api_errors": [{"method": "DELETE", "path": "/networks/", "status": 409, "count": 2,
                            "message": "Unable to complete operation on network: one or more ports in use"}]})
    deleted = cleanup(conn, run_id)
    assert f"network vmtp-{run_id}-net1" in deleted
    assert is_empty(inventory(conn, run_id))
