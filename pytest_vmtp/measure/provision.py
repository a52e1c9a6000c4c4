"""Put a missing throughput tool on a VM: this machine's own binary, when the CPUs match.

VMTP shipped x86_64 binaries and copied them to /tmp; we copy what this machine runs (after a
check that the VM has the same architecture) and install it on the VM's PATH, with sudo when
the login user is not root (cloud images give their default user password-less sudo).
"""

from __future__ import annotations

import platform
import shlex
import shutil
from collections.abc import Iterable

from .errors import ToolMissing
from .runner import Runner
from .settings import MeasureSettings
from .tools import binaries_needed

INSTALL_DIR = "/usr/local/bin"


def provision_tools(runner: Runner, settings: MeasureSettings, protocols: Iterable[str]) -> list[str]:
    """Install the tools the host lacks for these protocols; return the ones installed.

    Raises ToolMissing saying what to install when it cannot (other CPU, no local binary,
    no root/sudo, or ping, which needs the image's own package)."""
    installed = []
    for binary in binaries_needed(settings, protocols):
        if runner.has_binary(binary):
            continue
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
        staging = f"/tmp/vmtp-{binary}"
        runner.put_file(local, staging, 0o755)
        target = f"{INSTALL_DIR}/{binary}"
        install = f"install -m 0755 {shlex.quote(staging)} {shlex.quote(target)}"
        res = runner.run(f"{install} 2>/dev/null || sudo -n {install}; rm -f {shlex.quote(staging)}", timeout=60)
        if not runner.has_binary(binary):
            raise ToolMissing(f"{binary} not found on host {runner.label} and uploading it failed "
                              f"({res.output.strip()[:200] or 'no root or sudo'}): install it in the image")
        installed.append(binary)
    return installed
