"""Cost per VM on the local cloud, from 2 to 64 VMs: the topology build through the plugin's own
code (cloud/topology.py: pairs of server and client VMs, floating IPs, SSH ready) in doubling
batches, and what the VMs hold: processes, their memory (PSS), kernel slab. A VM is a network
namespace with one root sshd; the set-up time per VM must stay flat (linear growth).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from cloudrun import PREFIX, local_cloud
from table import Row

from pytest_vmtp.catalogue import pair_role
from pytest_vmtp.cloud import cleanup
from pytest_vmtp.cloud.connect import connect
from pytest_vmtp.cloud.naming import new_run_id
from pytest_vmtp.cloud.settings import CloudSettings
from pytest_vmtp.cloud.topology import Topology

BENCH = "cost per VM"
SIZES = (2, 4, 8, 16, 32, 64)


def _meminfo_kib(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def _vm_processes() -> list[int]:
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    pids: list[int] = []
    for ns in (n for n in names if n.startswith(f"{PREFIX}-vm-")):
        out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
        pids += [int(p) for p in out.split()]
    return pids


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def figures() -> list[Row]:
    rows: list[Row] = []
    with local_cloud() as (handle, _), tempfile.TemporaryDirectory(prefix="bench-vmcost-") as tmp:
        conn = connect("local", str(handle.clouds_yaml))
        run_id = new_run_id()
        settings = CloudSettings(image="vmtp-local", flavor="vmtp", raise_quota=True,
                                 ssh_sources=("0.0.0.0/0",))
        topo = Topology(conn, settings, run_id, Path(tmp) / "shared")
        try:
            slab0, built, first = _meminfo_kib("Slab"), 0, None
            for size in SIZES:
                pairs = size // 2
                roles = [pair_role(r, p) for p in range(1, pairs + 1) for r in ("server", "same_inter")]
                began = time.monotonic()
                topo.vms(roles)
                took = time.monotonic() - began
                new = size - built
                per_vm_ms = 1000 * took / new
                first = first or per_vm_ms
                built = size
                pids = _vm_processes()
                pss = sum(_pss_kib(p) for p in pids) / 1024
                slab = (_meminfo_kib("Slab") - slab0) / 1024
                rows.append(Row(BENCH, f"{size} VMs: {new} more built (boot, floating IP, SSH ready)",
                                f"{took:.2f} s, {per_vm_ms:.0f} ms/VM", "", per_vm_ms, "ms/VM"))
                rows.append(Row(BENCH, f"{size} VMs: processes, memory (PSS), kernel slab",
                                f"{len(pids)} ({len(pids) / size:g}/VM), {pss:.0f} MiB ({pss / size:.2f}/VM), "
                                f"+{slab:.0f} MiB ({slab / size:.2f}/VM)", "", pss / size, "MiB/VM"))
            growth = per_vm_ms / first
            rows.append(Row(BENCH, "set-up time per VM at 64 VMs / at 2 VMs", f"{growth:.2f}x",
                            f"flat (linear growth, <= 2x): {'met' if growth <= 2 else 'MISSED'}", growth, "x"))
        finally:
            cleanup(conn, run_id)
            conn.close()
    return rows


if __name__ == "__main__":
    from table import render

    print(render(figures()))
