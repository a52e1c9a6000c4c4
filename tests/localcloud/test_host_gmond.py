"""Each compute host of the local cloud runs Debian's gmond with its own configuration, started
and stopped with the host and removed by `clean` after a crash. A client finds them as an
operator would: Nova's hypervisors (host_ip) and the port the cloud publishes."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from pytest_vmtp.localcloud import control, process
from pytest_vmtp.localcloud.dataplane.names import Names
from pytest_vmtp.localcloud.dataplane.nl import ns_pids
from pytest_vmtp.measure.gmond import GmondTarget, read_xml
from pytest_vmtp.measure.parse_gmond import parse_hosts
from pytest_vmtp.procgroup import alive, cmdline
from tests.localcloud.lc_support import connect, processes_mentioning

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

PREFIX = "vm2g"
MGMT, EXTERNAL = "198.18.186.0/24", "198.18.187.0/24"


def gmonds(host: str) -> list[int]:
    return [pid for pid in ns_pids(Names(PREFIX).host_ns(host)) if cmdline(pid).split(" ")[0].endswith("/gmond")]


def test_compute_hosts_run_gmond_found_through_nova_and_gone_after_stop_and_clean(tmp_path: Path) -> None:
    state = tmp_path / "cloud"
    handle = control.start(state, prefix=PREFIX, mgmt_cidr=MGMT, external_cidr=EXTERNAL)
    try:
        port = json.loads((state / control.HOSTS_GMOND).read_text())["port"]
        assert port == 8649
        with connect(handle) as conn:
            host_ips = {h.name: h.host_ip for h in conn.compute.hypervisors(details=True)}
        assert sorted(host_ips) == ["compute1", "compute2"]
        for name, ip in host_ips.items():
            [host] = parse_hosts(read_xml(GmondTarget(ip, port), timeout_s=5))
            assert host.ip == ip, host  # keyed as Nova names the hypervisor
            assert {"cpu_user", "cpu_system", "cpu_num"} <= set(host.metrics), host.metrics
            assert len(gmonds(name)) == 1
            conf = next(a for a in cmdline(gmonds(name)[0]).split() if a.endswith("gmond.conf"))
            assert conf.startswith(str(state)) and "/etc/ganglia" not in cmdline(gmonds(name)[0])
    finally:
        control.stop(handle)
    assert processes_mentioning(str(state)) == [] and not (state / control.HOSTS_GMOND).exists()

    # A server killed with SIGKILL leaves its hosts' gmond running; `clean` removes them.
    handle = control.start(state, prefix=PREFIX, mgmt_cidr=MGMT, external_cidr=EXTERNAL)
    left = gmonds("compute1") + gmonds("compute2")
    try:
        os.kill(handle.pid, signal.SIGKILL)
        process.wait_gone(handle.pid, 10)
        assert all(alive(pid) for pid in left) and len(left) == 2
    finally:
        control.clean(state, PREFIX)
    assert processes_mentioning(str(state)) == []
    assert not (state / control.HOSTS_GMOND).exists()
