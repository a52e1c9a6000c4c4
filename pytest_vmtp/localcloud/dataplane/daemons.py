"""Daemons the data path runs inside its namespaces, as Neutron's agents do: radvd in a
router's namespace, dnsmasq in a network's DHCP namespace, and the guest's DHCPv6 client
(dhclient) in a VM's.

Each runs in the foreground in a session of its own (so that stopping its group stops it
all), logs to a file in its directory, and is put in the data path's crash record: its
command line names that directory, which is how `clean` recognises it after a kill -9 (the
namespaces' processes are killed with them anyway).
"""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_vmtp.procgroup import alive, send_signal, stop_group

from .nl import DataplaneError
from .record import Record


@dataclass
class Daemon:
    name: str  # "radvd", "dnsmasq", "dhclient"
    netns: str
    pid: int
    log: Path

    def running(self) -> bool:
        return alive(self.pid, reap_zombie=True)

    def reload(self) -> None:
        """SIGHUP: radvd rereads its configuration, dnsmasq its hosts file."""
        send_signal(self.pid, signal.SIGHUP)

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace").strip()
        except FileNotFoundError:
            return ""


def start(name: str, netns: str, argv: list[str], directory: Path, record: Record,
          settle_s: float = 0.05) -> Daemon:
    """Start argv in netns; DataplaneError if it exits at once (a bad configuration)."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["ip", "netns", "exec", netns, *argv], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    record.add("pids", proc.pid)
    daemon = Daemon(name, netns, proc.pid, log)
    time.sleep(settle_s)
    if proc.poll() is not None:
        record.discard("pids", proc.pid)
        raise DataplaneError(f"{name} in {netns} exited at once: {daemon.output()[-400:]}")
    return daemon


def stop(daemon: Daemon | None, record: Record) -> None:
    """SIGTERM (SIGKILL after a second) the daemon's group; forget it."""
    if daemon is None:
        return
    stop_group(daemon.pid, 1.0)
    record.discard("pids", daemon.pid)
