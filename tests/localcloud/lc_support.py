"""Helpers of the local cloud's API/CLI tests (imported; fixtures live in conftest.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import openstack
import openstack.config
import psutil
import requests

from pytest_vmtp.localcloud.control import CloudHandle


def connect(handle: CloudHandle, password: str | None = None) -> openstack.connection.Connection:
    """An openstacksdk connection from the cloud's clouds.yaml (optionally a wrong password)."""
    if password is not None:
        return openstack.connect(
            auth_url=handle.auth_url, username="admin", password=password,
            project_name="admin", user_domain_name="Default", project_domain_name="Default",
            region_name="RegionOne", load_yaml_config=False, load_envvars=False)
    config = openstack.config.OpenStackConfig(config_files=[str(handle.clouds_yaml)])
    return openstack.connection.Connection(config=config.get_one(handle.cloud_name))


class Api:
    """Raw HTTP with a valid token: status codes and bodies exactly as clients receive them."""

    def __init__(self, handle: CloudHandle, conn: openstack.connection.Connection) -> None:
        self.root = f"http://127.0.0.1:{handle.port}"
        self.headers = {"X-Auth-Token": conn.session.get_token()}

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.root + path, headers=self.headers, timeout=10,
                                **kwargs)


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes (not zombies, not this one) that mention text."""
    out = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.pid != os.getpid() and text in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            out.append(cmdline)
    return out


def ssh(key: Path, ip: str, command: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
         f"root@{ip}", command], capture_output=True, text=True, timeout=timeout)
