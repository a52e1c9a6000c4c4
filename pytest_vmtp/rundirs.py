"""Run directories on this machine: `<temp dir>/vmtp-<run id>-*`, one per pytest-vmtp run.

A run keeps its SSH key, locks and topology state there and removes it at its end; a killed
run cannot. Every process of a live run holds a shared lock on the directory's `owner` file
(claim()), which the kernel drops when the process dies, however it dies: a directory whose
lock nobody holds belongs to a run that is over. vmtp-cleanup removes those.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import IO

OWNER = "owner"
NAME = re.compile(r"vmtp-([0-9a-f]{7})-.+")
ALIVE, OVER, UNKNOWN = "alive", "over", "unknown"  # UNKNOWN: no owner file (an older plugin)

_claims: dict[Path, IO[bytes]] = {}  # open (hence locked) for the life of the process


def claim(run_dir: Path) -> None:
    """Mark run_dir as used by this process until it exits (or release())."""
    key = run_dir.resolve()
    if key in _claims:
        return
    fd = os.open(run_dir / OWNER, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    handle = os.fdopen(fd, "r+b")
    fcntl.flock(handle, fcntl.LOCK_SH)
    _claims[key] = handle


def release(run_dir: Path) -> None:
    handle = _claims.pop(run_dir.resolve(), None)
    if handle is not None:
        handle.close()


def run_dirs(run_id: str | None = None, temp_dir: Path | None = None) -> list[Path]:
    """This user's run directories in the temp dir (of run_id, or of every run), by name."""
    base = Path(temp_dir or tempfile.gettempdir())
    found = []
    for entry in sorted(base.iterdir()):
        match = NAME.fullmatch(entry.name)
        if not match or (run_id is not None and match.group(1) != run_id):
            continue
        st = entry.lstat()
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid():
            found.append(entry)
    return found


def run_id_of(run_dir: Path) -> str | None:
    match = NAME.fullmatch(run_dir.name)
    return match.group(1) if match else None


def state(run_dir: Path) -> str:
    """ALIVE while a process of its run holds it, OVER when none does, UNKNOWN without owner file."""
    try:
        fd = os.open(run_dir / OWNER, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return UNKNOWN
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return ALIVE
    finally:
        os.close(fd)  # drops the probe's lock, if it got one
    return OVER


def remove(run_dir: Path) -> None:
    shutil.rmtree(run_dir)


def sweep(run_id: str | None, dry_run: bool = False, temp_dir: Path | None = None) -> list[tuple[Path, str]]:
    """Remove the run directories of run_id (or, run_id None, of every run) whose run is over,
    and return (directory, what happened) for each found: "removed" ("would remove" in a dry
    run) or why it was left. A named run's directory without owner file goes too: the user
    named it; with every run, such a directory is left (its run cannot be told alive or not)."""
    done = []
    for run_dir in run_dirs(run_id, temp_dir):
        now = state(run_dir)
        if now == ALIVE:
            done.append((run_dir, "left alone: its run is still going"))
        elif now == UNKNOWN and run_id is None:
            done.append((run_dir, f"left alone: no owner record; vmtp-cleanup --run-id {run_id_of(run_dir)} "
                                  "removes it"))
        elif dry_run:
            done.append((run_dir, "would remove"))
        else:
            remove(run_dir)
            done.append((run_dir, "removed"))
    return done
