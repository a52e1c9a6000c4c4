"""Subprocess helper: build roles of a run in a fresh process, print their endpoints as JSON.

    python build_vm.py RUN_ID SHARED_DIR ROLE[,ROLE] [--crash]

--crash: die by SIGKILL right after, so nothing is torn down (a crashed pytest run).
"""

from __future__ import annotations

import json
import os
import signal
import sys

from pytest_vmtp.cloud import CloudSettings, Topology, connect


def main() -> None:
    run_id, shared_dir, roles = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    conn = connect("local")
    settings = CloudSettings(image="vmtp-local", flavor="m1.tiny", boot_timeout_s=120, ssh_timeout_s=60)
    topo = Topology(conn, settings, run_id, shared_dir, progress=lambda m: print(f"# {m}", file=sys.stderr))
    endpoints = topo.vms(roles)
    print(json.dumps({r: e.to_json() for r, e in endpoints.items()}), flush=True)
    if "--crash" in sys.argv:
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main()
