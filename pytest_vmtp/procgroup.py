"""Process groups and pids: stop a group gracefully, kill several at once, tell if a pid lives.

One helper for what the local runner, sshd, the data path's clean-up and the local cloud's
control each did by hand. It stands on psutil rather than on parsing /proc ourselves:
psutil is maintained, already installed (openstacksdk depends on it), reads a process's
state and command line without our knowing the layout of /proc/<pid>/stat, and waits for a
child (reaping it) and for a stranger (polling) alike. Group membership comes from getpgid(2)
over psutil's pid list, as psutil has no process-group attribute.

The shell-side group kill in measure/ssh_runner.py runs on remote hosts and stays there.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable

import psutil

POLL_S = 0.02


def reap(pid: int) -> None:
    """Collect pid's exit status if it is an exited child of ours (else do nothing)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def alive(pid: int, reap_zombie: bool = False) -> bool:
    """True while pid runs; a zombie does not count (reap_zombie: collect it if it is ours)."""
    try:
        status = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return False
    if status == psutil.STATUS_ZOMBIE:
        if reap_zombie:
            reap(pid)
        return False
    return True


def cmdline(pid: int) -> str:
    """pid's command line with arguments joined by spaces; "" when gone, a zombie or hidden."""
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def send_signal(pid: int, sig: int) -> bool:
    """Signal one process; False when it no longer exists."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def group_alive(pgid: int) -> bool:
    """True while a non-zombie process is in group pgid (orphans' zombies wait for init).

    A live leader answers at once; only without one are all processes looked at."""
    if alive(pgid):
        try:
            if os.getpgid(pgid) == pgid:
                return True
        except ProcessLookupError:
            pass
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) == pgid and alive(pid):
                return True
        except ProcessLookupError:
            continue
    return False


def stop_group(pgid: int, grace: float, reap_leader: Callable[[], object] | None = None) -> None:
    """SIGTERM group pgid, SIGKILL whatever is left after `grace` seconds; return once no
    member lives (or after a second `grace`).

    The leader, when it is our child, is reaped while waiting (its zombie would otherwise
    look like a member for the whole grace period): by reap_leader when given (Popen.poll,
    so that the Popen keeps its return code), else by waitpid."""
    collect = reap_leader or (lambda: reap(pgid))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            collect()
            if not group_alive(pgid):
                collect()  # the leader may have died between the two looks
                return
            time.sleep(POLL_S)


def marked(name: str, value: str) -> list[int]:
    """Pids of the live processes whose environment has name=value (a mark their starter put
    there, which their own children inherit), wherever they run (network namespaces too)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(name) == value and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except psutil.Error:  # gone, a zombie, or not ours to read
            continue
    return found


def kill_groups(pids: Iterable[int], wait: float = 0.0) -> None:
    """SIGKILL the group each pid leads (if any) and the pid itself, all at once; reap those
    that are our children. wait > 0: also wait, up to that many seconds in all, until each is
    gone (our children are reaped as they go)."""
    pids = list(pids)
    for pid in pids:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except OSError:  # gone already, or not ours to signal
                pass
    if wait <= 0:
        for pid in pids:
            reap(pid)
        return
    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            reap(pid)
    deadline = time.monotonic() + wait
    psutil.wait_procs(procs, timeout=wait)
    # The leaders are gone; a member killed with them can still be on its way out.
    for pid in pids:
        while group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
