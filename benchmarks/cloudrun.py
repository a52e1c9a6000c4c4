"""A local cloud of the benchmarks' own (prefix vm9b, 198.18.214-215.0/24), pytest-vmtp run on
it as a user runs it, and nuttcp run by hand between two of its namespaces."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from pytest_vmtp.localcloud import control
from pytest_vmtp.localcloud.dataplane.names import Names
from pytest_vmtp.measure.parse_nuttcp import parse_nuttcp_fparse

PREFIX = "vm9b"
MGMT_CIDR, EXTERNAL_CIDR = "198.18.214.0/24", "198.18.215.0/24"


@contextmanager
def local_cloud() -> Iterator[tuple[control.CloudHandle, float]]:
    """(the running cloud, seconds its start took); stopped and its state removed at the end."""
    state = Path(tempfile.mkdtemp(prefix="bench-vm9b-"))
    control.clean(state, PREFIX)
    started = time.monotonic()
    handle = control.start(state, prefix=PREFIX, mgmt_cidr=MGMT_CIDR, external_cidr=EXTERNAL_CIDR)
    took = time.monotonic() - started
    try:
        yield handle, took
    finally:
        control.stop(handle)
        shutil.rmtree(state, ignore_errors=True)


def vmtp(handle: control.CloudHandle, cwd: Path, settings: dict[str, Any], *args: str,
         timeout: float = 3600) -> tuple[dict[str, Any], float]:
    """(the run's results document, its wall time in s); RuntimeError when the run failed."""
    conf, out = cwd / "vmtp.yaml", cwd / "results.json"
    conf.write_text(yaml.safe_dump(settings))
    env = {**os.environ, **handle.env(), "VMTP_LOCALCLOUD_STATE_DIR": str(handle.state_dir)}
    cmd = [sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
           "-q", "--vmtp-config", str(conf), "--vmtp-no-history", f"--vmtp-json={out}", *args]
    began = time.monotonic()
    res = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - began
    if res.returncode != 0:
        raise RuntimeError(f"pytest-vmtp failed ({res.returncode}): {res.stdout[-3000:]}{res.stderr[-1000:]}")
    return json.loads(out.read_text()), wall


def server_netns(handle: control.CloudHandle, name: str) -> str:
    """The namespace of the server named so (the local cloud's VM), found through its API."""
    from pytest_vmtp.cloud.connect import connect

    conn = connect("local", str(handle.clouds_yaml))
    try:
        server = next(s for s in conn.compute.servers() if s.name == name)
        return Names(PREFIX).server_ns(server.id)
    finally:
        conn.close()


def nuttcp(client_ns: str, server_ns: str, dest: str, args: str, runs: int) -> list[int]:
    """nuttcp by hand: the server in server_ns, `runs` clients from client_ns; kbit/s each."""
    server = subprocess.Popen(["ip", "netns", "exec", server_ns, "nuttcp", "-S", "-P5002", "-p5001", "--nofork"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(0.3)
        rates = []
        for _ in range(runs):
            done = subprocess.run(["ip", "netns", "exec", client_ns, "sh", "-c",
                                   f"nuttcp -p5001 -P5002 -fparse {args} {dest}"],
                                  capture_output=True, text=True, timeout=120)
            rates.append(parse_nuttcp_fparse(done.stdout + done.stderr).throughput_kbps)
        return rates
    finally:
        server.terminate()
        server.wait(10)


def run_dirs_of(run_id: str) -> None:
    """Remove a kept run's directory on this machine (its key) once its cloud is gone."""
    for path in Path(tempfile.gettempdir()).glob(f"vmtp-{run_id}-*"):
        shutil.rmtree(path, ignore_errors=True)
