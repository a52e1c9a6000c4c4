"""Run a private Ganglia gmond (Debian's ganglia-monitor) inside a network namespace.

Used by the local cloud (one per compute host, so that host CPU appears in the results as
with a real cloud's Ganglia) and by the plugin's own tests. Each daemon has its own directory
and configuration; the machine's own gmond service and /etc/ganglia are not touched, and the
ports it uses live in the namespace only.

The configuration needs no multicast: gmond puts a metric into its XML only once the metric
has come back through a udp_recv_channel, so it sends to itself, unicast, at its own address
(an acl lets only that address in). It does not spoof its name (override_hostname /
override_ip): Debian's gmond 3.7.2 then sends the spoofed host from freed memory and drops its
own values ("Incorrect format for spoof argument"), so they change only every
send_metadata_interval (fixed upstream in 2018, after 3.7.2). The HOST element's IP is then
the address the packets come from, the host's; its NAME is what the address resolves to (the
address itself when it has no name). CPU metrics are collected every 2 s.

The namespaces share /proc/stat with the machine: every host's gmond reports the machine's
CPU, not a share of it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_vmtp.procgroup import stop_group

GMOND = shutil.which("gmond") or "/usr/sbin/gmond"
PORT = 8649  # Ganglia's default tcp_accept_channel port
RECV_PORT = 18649  # the udp channel gmond sends its own metrics through
CPU_MODULE = "/usr/lib/x86_64-linux-gnu/ganglia/modcpu.so"
COLLECT_EVERY_S = 2

_CONFIG = """\
globals {{
  daemonize = no
  setuid = no
  debug_level = 0
  mute = no
  deaf = no
  host_dmax = 0
  cleanup_threshold = 300
  send_metadata_interval = 10
}}
cluster {{
  name = "{cluster}"
  owner = "pytest-vmtp"
}}
host {{
  location = "{location}"
}}
udp_send_channel {{
  host = {ip}
  port = {recv_port}
}}
udp_recv_channel {{
  bind = {ip}
  port = {recv_port}
  acl {{
    default = "deny"
    access {{
      ip = {ip}
      mask = 32
      action = "allow"
    }}
  }}
}}
tcp_accept_channel {{
  bind = {ip}
  port = {port}
}}
modules {{
  module {{
    name = "core_metrics"
  }}
  module {{
    name = "cpu_module"
    path = "{cpu_module}"
  }}
}}
collection_group {{
  collect_once = yes
  time_threshold = 20
  metric {{
    name = "heartbeat"
  }}
}}
collection_group {{
  collect_once = yes
  time_threshold = 60
  metric {{
    name = "cpu_num"
  }}
}}
collection_group {{
  collect_every = {every}
  time_threshold = {threshold}
  metric {{
    name = "cpu_user"
    value_threshold = 0
  }}
  metric {{
    name = "cpu_system"
    value_threshold = 0
  }}
  metric {{
    name = "cpu_idle"
    value_threshold = 0
  }}
}}
"""


class GmondError(RuntimeError):
    """gmond could not be started; the message says why."""


def available() -> bool:
    """Is Debian's ganglia-monitor (gmond and its CPU module) installed?"""
    return Path(GMOND).exists() and Path(CPU_MODULE).exists()


def config_text(ip: str, location: str, cluster: str = "vmtp", port: int = PORT) -> str:
    return _CONFIG.format(ip=ip, location=location, cluster=cluster, port=port, recv_port=RECV_PORT,
                          cpu_module=CPU_MODULE, every=COLLECT_EVERY_S, threshold=2 * COLLECT_EVERY_S)


@dataclass
class GmondHandle:
    netns: str | None
    directory: Path
    pid: int
    ip: str
    port: int

    def stop(self, timeout: float = 3.0) -> None:
        """Stop gmond (SIGTERM, then SIGKILL) and whatever is left in its process group."""
        stop_group(self.pid, timeout)


def _listens(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


def start_gmond(directory: Path | str, ip: str, netns: str | None = None, location: str = "",
                port: int = PORT, timeout: float = 10.0) -> GmondHandle:
    """Start gmond (in netns, if given) on ip and return once it accepts connections there.

    ip must be reachable from the calling process's namespace (the local cloud's hosts'
    management addresses are, from the root namespace). No pid file: a stale one naming a
    live process after a crash would stop gmond from starting."""
    if not available():
        raise GmondError(f"gmond not found ({GMOND}, {CPU_MODULE}): install ganglia-monitor")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "gmond.conf"
    config.write_text(config_text(ip, location or ip, port=port))
    cmd = [GMOND, "-c", str(config), "-f"]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    log = directory / "gmond.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=directory)
    handle = GmondHandle(netns=netns, directory=directory, pid=proc.pid, ip=ip, port=port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _listens(ip, port):
            return handle
        if proc.poll() is not None:
            text = log.read_text(errors="replace").strip()
            raise GmondError(f"gmond in {netns or 'root namespace'} exited: {text[-300:] or 'no output'}")
        time.sleep(0.01)
    handle.stop()
    raise GmondError(f"gmond in {netns or 'root namespace'} did not listen on {ip}:{port} within {timeout:.0f} s")
