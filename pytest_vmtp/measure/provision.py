"""Put a missing throughput tool on a VM: this machine's own binary, when the CPUs match.

VMTP shipped x86_64 binaries and copied them to /tmp; we copy what this machine runs (after a
check that the VM has the same architecture) into a private directory (mktemp -d) and install it
on the VM's PATH, with sudo when the login user is not root (cloud images give their default user
password-less sudo).
"""

from __future__ import annotations

import platform
import re
import shlex
import shutil
from collections.abc import Iterable

from .errors import ToolMissing
from .runner import Runner
from .settings import MeasureSettings
from .tools import binaries_needed, binaries_wanted

INSTALL_DIR = "/usr/local/bin"
_STAGING = re.compile(r"/tmp/vmtp-upload\.[A-Za-z0-9]+")


def _private_dir(runner: Runner) -> str:
    """A fresh directory only the login user can enter (mktemp -d: mode 0700, unpredictable
    name), so nobody else on the host can plant or swap the file before it is installed."""
    res = runner.run("mktemp -d /tmp/vmtp-upload.XXXXXXXX", timeout=15)
    path = res.stdout.strip()
    if not res.ok or not _STAGING.fullmatch(path):
        raise ToolMissing(f"cannot make a private upload directory on host {runner.label} "
                          f"({res.output.strip()[:200] or 'mktemp failed'}): install the tools in the image")
    return path


def provision_tools(runner: Runner, settings: MeasureSettings, protocols: Iterable[str]) -> list[str]:
    """Install the tools the host lacks for these protocols; return the ones installed.

    Raises ToolMissing saying what to install when it cannot (other CPU, no local binary,
    no root/sudo, or ping, which needs the image's own package). Tools only wanted (multicast's
    choice among nuttcp and iperf) are uploaded where possible, and skipped where not."""
    installed = []
    protocols = tuple(protocols)
    needed = binaries_needed(settings, protocols)
    for binary in needed + [b for b in binaries_wanted(settings, protocols) if b not in needed]:
        if runner.has_binary(binary):
            continue
        try:
            installed += _upload(runner, binary)
        except ToolMissing:
            if binary in needed:
                raise  # else: the measurement says which tool it used, or that none was there
    return installed


def _upload(runner: Runner, binary: str) -> list[str]:
    """Install this machine's `binary` on the host; ToolMissing when it cannot."""
    if binary == "ping":
        raise ToolMissing(f"ping not found on host {runner.label}: install iputils-ping in the image")
    local = shutil.which(binary)
    if local is None:
        raise ToolMissing(f"{binary} not found on host {runner.label} nor here to upload: "
                          "install it in the image or pick --vmtp-tool")
    arch = runner.run("uname -m", timeout=15).stdout.strip()
    if arch != platform.machine():
        raise ToolMissing(f"{binary} not found on host {runner.label} ({arch}); this machine's "
                          f"is {platform.machine()}: install it in the image")
    staging_dir = _private_dir(runner)
    staging = f"{staging_dir}/{binary}"
    target = f"{INSTALL_DIR}/{binary}"
    install = f"install -m 0755 {shlex.quote(staging)} {shlex.quote(target)}"
    try:
        runner.put_file(local, staging, 0o755)
        res = runner.run(f"{install} 2>/dev/null || sudo -n {install}", timeout=60)
    finally:
        runner.run(f"rm -rf {shlex.quote(staging_dir)}", timeout=30)
    if not runner.has_binary(binary):
        raise ToolMissing(f"{binary} not found on host {runner.label} and uploading it failed "
                          f"({res.output.strip()[:200] or 'no root or sudo'}): install it in the image")
    return [binary]
