"""Host keys on the local cloud: its compute hosts are checked against the keys it publishes,
the run's VMs are learnt into a run-private file, and nothing touches the user's ~/.ssh."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pytest_vmtp.localcloud.server import HOSTS_KEY, HOSTS_KNOWN_HOSTS
from pytest_vmtp.measure.hostspec import parse_host_spec
from pytest_vmtp.measure.ssh_runner import SshRunner

FAST = "duration_s: 1\ntcp_runs: 1\nudp_pkt_sizes: [1024]\nicmp_pkt_sizes: [64]\nping_count: 2\n" \
       "ping_interval_s: 0.05\nbandwidth: 100M\n"


def test_the_local_cloud_publishes_its_hosts_keys(conn, localcloud: Path):
    state = localcloud.parent
    lines = (state / HOSTS_KNOWN_HOSTS).read_text().splitlines()
    hosts = sorted(h.host_ip for h in conn.compute.hypervisors(details=True))
    assert sorted(line.split()[0] for line in lines) == hosts
    for ip in hosts:  # strict checking against that file succeeds
        spec = f"root@{ip},key={state / HOSTS_KEY},known_hosts={state / HOSTS_KNOWN_HOSTS}"
        with SshRunner(parse_host_spec(spec)) as runner:
            assert runner.run("true", timeout=15).ok


def test_native_and_vm_rows_check_host_keys_and_leave_ssh_alone(localcloud: Path, cloud_env, tmp_path: Path):
    home = tmp_path / "home"  # a user with no ~/.ssh: every key must come from elsewhere
    home.mkdir()
    config = tmp_path / "fast.yaml"
    config.write_text(FAST)
    env = {**cloud_env, "HOME": str(home), "VMTP_LOCALCLOUD_STATE_DIR": str(localcloud.parent)}
    res = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p",
                          "no:cacheprovider", "-m", "native or (same_network and intra_node and not udp)",
                          f"--vmtp-config={config}"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    rows = dict(re.findall(r"^\| (\d\.\d) +\| .+? +\| (PASSED|FAILED|SKIPPED) ", res.stdout, re.M))
    assert res.returncode == 0, res.stdout[-4000:]
    assert {s: rows[s] for s in ("1.1", "1.3", "7.1", "7.2", "7.3")} == dict.fromkeys(
        ("1.1", "1.3", "7.1", "7.2", "7.3"), "PASSED"), rows
    assert not (home / ".ssh").exists()  # no ~/.ssh made, no key learnt there
