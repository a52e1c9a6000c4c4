"""The server process seen from outside: find, probe, signal and reap it by pid."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .server import SERVER_FILE

SERVER_MODULE = "pytest_vmtp.localcloud.server"


def read_server_file(state_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((state_dir / SERVER_FILE).read_text())
    except (OSError, ValueError):
        return None


def is_ours(pid: int) -> bool:
    """True while pid is a live (not zombie) local-cloud server process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        try:
            os.waitpid(pid, os.WNOHANG)  # our own child: reap it
        except ChildProcessError:
            pass
        return False
    return SERVER_MODULE in cmdline


def answers(port: int, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/identity/v3", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_ours(pid):
            return True
        time.sleep(0.05)
    return not is_ours(pid)


def signal_pid(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def kill_group(pid: int) -> None:
    """SIGKILL the server and anything left in its process group (it leads a session)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
