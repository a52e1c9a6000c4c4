"""The server process seen from outside: its server file, whether it is ours and answers."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pytest_vmtp import procgroup

from .layout import SERVER_FILE, SERVER_MODULE, SNAPSHOT


def read_server_file(state_dir: Path) -> dict[str, Any] | None:
    """What the server wrote about itself (pid, port, prefix, status), or None."""
    try:
        info = json.loads((state_dir / SERVER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def read_snapshot(state_dir: Path) -> dict[str, Any] | None:
    """The last snapshot of the cloud's state (state.py writes it), or None."""
    try:
        doc = json.loads((state_dir / SNAPSHOT).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def is_ours(pid: int) -> bool:
    """True while pid is a live (not zombie) local-cloud server process; our zombie is reaped."""
    return procgroup.alive(pid, reap_zombie=True) and SERVER_MODULE in procgroup.cmdline(pid)


def answers(port: int, timeout: float = 1.0) -> bool:
    """True when something answers HTTP on 127.0.0.1:port (any status counts)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/identity/v3", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until pid is no longer a live server process; False after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_ours(pid):
            return True
        time.sleep(0.05)
    return not is_ours(pid)


def port_free(port: int) -> bool:
    """Can the server listen on port? Probed as the server binds it (SO_REUSEADDR, as
    werkzeug's server): a killed server's connections left in TIME_WAIT do not stop it, and
    must not make a restart move to another port, away from its clients."""
    if not port:
        return False
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
