"""The xdist recipe for sharing one Topology, run for real with `pytest -n 2` (pytester).

Every worker builds its Topology on the controller's run id and shared directory; roles asked
by several workers are built once; the controller alone tears down, with cleanup(run_id).
"""

from __future__ import annotations

import json

import pytest

from .inventory import inventory, is_empty

CONFTEST = '''
import json, os
import pytest
from pytest_vmtp.cloud import CloudSettings, Topology, cleanup, connect

def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller decides run id and shared dir
        config.run_id, config.shared = os.environ["RUN_ID"], os.environ["SHARED"]

def pytest_configure_node(node):
    node.workerinput.update(run_id=node.config.run_id, shared=node.config.shared)

def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):
        deleted = cleanup(connect("local"), config.run_id)
        open(os.path.join(config.shared, "deleted.json"), "w").write(json.dumps(deleted))

@pytest.fixture(scope="session")
def topology(request):
    src = getattr(request.config, "workerinput", None) or vars(request.config)
    settings = CloudSettings(image="vmtp-local", flavor="m1.tiny", boot_timeout_s=120, ssh_timeout_s=60)
    return Topology(connect("local"), settings, src["run_id"], src["shared"])
'''

TESTS = '''
import json, os, pytest

@pytest.mark.parametrize("role", ["same_intra", "same_inter", "diff_intra", "diff_inter"])
def test_vm(topology, role, worker_id):
    ep = topology.vm(role)
    server = topology.vm("server")
    with open(os.path.join(topology.shared_dir, f"{role}.json"), "w") as fh:
        json.dump({"worker": worker_id, "server_id": server.server_id, "host": ep.host}, fh)
'''


def test_xdist_workers_share_one_topology(pytester: pytest.Pytester, conn, run_id: str, cloud_env,
                                          monkeypatch: pytest.MonkeyPatch):
    shared = pytester.path / "shared"
    shared.mkdir()
    monkeypatch.setenv("RUN_ID", run_id)
    monkeypatch.setenv("SHARED", str(shared))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_roles=TESTS)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "-p", "no:vmtp", "-q")
    result.assert_outcomes(passed=4)
    records = [json.loads((shared / f"{r}.json").read_text())
               for r in ("same_intra", "same_inter", "diff_intra", "diff_inter")]
    assert len({r["worker"] for r in records}) == 2  # both workers used the topology
    assert len({r["server_id"] for r in records}) == 1  # ... and the same server VM
    deleted = json.loads((shared / "deleted.json").read_text())
    assert sum(d.startswith("server ") for d in deleted) == 5  # five VMs, none built twice
    assert is_empty(inventory(conn, run_id))
