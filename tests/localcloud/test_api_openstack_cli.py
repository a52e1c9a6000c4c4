"""The real `openstack` CLI (python-openstackclient) drives the local cloud."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_vmtp.localcloud.control import CloudHandle

OPENSTACK = Path(sys.executable).with_name("openstack")


def _os(handle: CloudHandle, *args: str, parse: bool = True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = str(handle.clouds_yaml)
    cmd = [str(OPENSTACK), "--os-cloud", handle.cloud_name, *args]
    if parse:
        cmd += ["-f", "json"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(args)}: {result.stderr}"
    return json.loads(result.stdout) if parse else result.stdout


@pytest.mark.skipif(not OPENSTACK.exists(), reason="python-openstackclient not installed")
def test_openstack_cli_builds_and_lists(local_cloud: CloudHandle) -> None:
    made: list[tuple[str, ...]] = []
    try:
        net = _os(local_cloud, "network", "create", "cli-net")
        made.append(("network", "delete", net["id"]))
        subnet = _os(local_cloud, "subnet", "create", "--network", "cli-net",
                     "--subnet-range", "10.20.0.0/24", "cli-sub")
        assert subnet["gateway_ip"] == "10.20.0.1"
        router = _os(local_cloud, "router", "create", "cli-router")
        made.append(("router", "delete", router["id"]))
        _os(local_cloud, "router", "set", "--external-gateway", "public", "cli-router",
            parse=False)
        _os(local_cloud, "router", "add", "subnet", "cli-router", "cli-sub", parse=False)
        made.insert(0, ("router", "remove", "subnet", "cli-router", "cli-sub"))
        server = _os(local_cloud, "server", "create", "--image", "vmtp-local", "--flavor",
                     "m1.small", "--network", "cli-net", "--availability-zone",
                     "nova:compute2", "--wait", "cli-vm")
        made.insert(0, ("server", "delete", "--wait", server["id"]))
        assert server["status"] == "ACTIVE"
        fip = _os(local_cloud, "floating", "ip", "create", "public")
        made.insert(0, ("floating", "ip", "delete", fip["id"]))
        _os(local_cloud, "server", "add", "floating", "ip", "cli-vm",
            fip["floating_ip_address"], parse=False)

        assert {n["Name"] for n in _os(local_cloud, "network", "list")} >= {"public", "cli-net"}
        assert "10.20.0.0/24" in {s["Subnet"] for s in _os(local_cloud, "subnet", "list")}
        assert "cli-router" in {r["Name"] for r in _os(local_cloud, "router", "list")}
        servers = {s["Name"]: s for s in _os(local_cloud, "server", "list")}
        assert servers["cli-vm"]["Status"] == "ACTIVE"
        assert fip["floating_ip_address"] in json.dumps(servers["cli-vm"]["Networks"])
        fips = {f["Floating IP Address"]: f for f in _os(local_cloud, "floating", "ip", "list")}
        assert fips[fip["floating_ip_address"]]["Fixed IP Address"].startswith("10.20.0.")
        shown = _os(local_cloud, "server", "show", "cli-vm")
        assert shown["OS-EXT-SRV-ATTR:host"] == "compute2"
    finally:
        for args in made:
            _os(local_cloud, *args, parse=False)
