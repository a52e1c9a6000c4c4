"""The plugin run by a project member, as a user runs it: `pytest --vmtp-cloud local-member`
on the local cloud. The VMs are placed with server groups (the member may neither list the
compute services nor force a host); what needs an admin skips with the reason: the native
rows (the compute hosts come from Nova's hypervisor list) and --vmtp-hypervisor."""

from __future__ import annotations

import json
import os
import re

from pytest_vmtp.cloud.placement import NEEDS_ADMIN
from pytest_vmtp.report import vmtp_json
from tests.e2e.test_cloud_scenarios import FAST, status_rows, vmtp_pytest

from .conftest import Conn


def _env(cloud) -> dict[str, str]:
    return {**os.environ, **cloud.env(), "VMTP_LOCALCLOUD_STATE_DIR": str(cloud.state_dir)}


def _leftovers(admin: Conn) -> list[str]:
    """Whatever a run made, in any project, as the admin sees it."""
    found = [s.name for s in admin.compute.servers(all_projects=True)]
    found += [n.name for n in admin.network.networks()] + [r.name for r in admin.network.routers()]
    found += [g.name for g in admin.network.security_groups()]
    found += [f.floating_ip_address for f in admin.network.ips()]
    return [name for name in found if name.startswith("vmtp-") or re.match(r"\d+\.", name)]


def test_a_member_runs_the_vm_rows_and_skips_what_needs_an_admin(cloud, admin, tmp_path) -> None:
    cfg = tmp_path / "fast.yaml"
    cfg.write_text(FAST)
    out = tmp_path / "r.json"
    res = vmtp_pytest(_env(cloud), "--vmtp-cloud", "local-member", "-m", "icmp", "--vmtp-config",
                      cfg, "--vmtp-no-history", f"--vmtp-json={out}", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    rows = status_rows(res.stdout)
    assert {sid: st for sid, st in rows.items() if sid[0] in "123456" and sid[2] == "3"} == {
        f"{g}.3": "PASSED" for g in range(1, 7)}
    assert rows["7.3"] == "SKIPPED"
    assert "only an admin may read" in res.stdout and "run them as `--vmtp-cloud local`" in res.stdout
    assert "placement: scheduler" in res.stdout
    assert "Traceback" not in res.stdout + res.stderr

    doc = json.loads(out.read_text())
    vmtp_json.validate(doc)
    meta = doc["metadata"]
    assert meta["cloud"] == "local-member" and meta["placement"] == "scheduler"
    vms = meta["vms"]
    assert {vm["host"] for vm in vms.values()} == {None}  # hosts are an admin's to see
    hosts = {role: vm["host_id"] for role, vm in vms.items()}  # Nova's per-project host hash
    assert hosts["server"] == hosts["same_intra"] == hosts["diff_intra"]
    assert hosts["same_inter"] == hosts["diff_inter"] != hosts["server"]
    assert _leftovers(admin) == []


def test_a_member_giving_hypervisors_gets_its_vm_rows_skipped(cloud, admin, tmp_path) -> None:
    cfg = tmp_path / "fast.yaml"
    cfg.write_text(FAST)
    res = vmtp_pytest(_env(cloud), "--vmtp-cloud", "local-member", "-k", "1.3 or 5.3",
                      "--vmtp-hypervisor", "compute1", "--vmtp-hypervisor", "nova:compute2",
                      "--vmtp-config", cfg, "--vmtp-no-history", "-rs", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    rows = status_rows(res.stdout)
    assert rows["1.3"] == rows["5.3"] == "SKIPPED"
    assert [line for line in res.stdout.splitlines() if line.startswith("SKIPPED [2] ")
            and line.endswith(NEEDS_ADMIN)], res.stdout[-3000:]
    assert "booting" not in res.stdout  # nothing was tried
    assert _leftovers(admin) == []
