"""Start, stop, find and clean the local cloud from outside: the plugin's only way in.

The local cloud is a separate program (server.py, run as a detached child); this module is
all a caller needs of it, and it loads none of the server's code (Flask, the API, the data
path) so that using it costs next to nothing. start() spawns the server, waits until it
answers, then writes `<state dir>/clouds.yaml` (mode 0600): entry `local` (user admin, the
cloud's admin) and `local-member` (user demo, a member of project demo), the only place their
passwords live.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_vmtp import procgroup
from pytest_vmtp.user_error import UserError

from . import process
from .layout import (
    CLOUD_NAME,
    CLOUDS_FILE,
    DATAPLANE_DIR,
    DEFAULT_DATAPLANE,
    DEFAULT_PREFIX,
    DEFAULT_STATE_DIR,
    HOSTS_GMOND,
    HOSTS_KEY,
    HOSTS_KNOWN_HOSTS,
    IMAGES_DIR,
    LOG_FILE,
    MEMBER_CLOUD_NAME,
    SERVER_FILE,
    SERVER_MODULE,
    SNAPSHOT,
    STATE_DIR_ENV,
    TOKEN_KEY,
    load_dataplane_class,
)

__all__ = ["CLOUD_NAME", "CLOUDS_FILE", "DEFAULT_PREFIX", "DEFAULT_STATE_DIR", "HOSTS_GMOND", "HOSTS_KEY",
           "HOSTS_KNOWN_HOSTS", "MEMBER_CLOUD_NAME", "MAX_TOKEN_LIFETIME",
           "STATE_DIR_ENV", "CloudError", "CloudHandle", "Networking", "clean", "default_state_dir",
           "is_running", "running", "start", "stop"]

_children: dict[int, subprocess.Popen[bytes]] = {}
MAX_TOKEN_LIFETIME = 7 * 24 * 3600.0  # Keystone refuses [token] expiration beyond a week too
# clouds.yaml entry -> (user, project), as keystone.py's bootstrap makes them
USERS = {CLOUD_NAME: ("admin", "admin"), MEMBER_CLOUD_NAME: ("demo", "demo")}


class CloudError(UserError):
    """A user-facing failure of the local cloud; the CLI prints its message as one line."""


@dataclass(frozen=True)
class CloudHandle:
    """A running local cloud: where its files are and how clients reach it."""

    state_dir: Path
    clouds_yaml: Path
    cloud_name: str
    pid: int
    port: int
    prefix: str
    already_running: bool = False

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/identity"

    def env(self, cloud_name: str | None = None) -> dict[str, str]:
        """Environment for openstacksdk / the openstack CLI (as the admin, or as the member
        with cloud_name MEMBER_CLOUD_NAME)."""
        return {"OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml),
                "OS_CLOUD": cloud_name or self.cloud_name}


def default_state_dir() -> Path:
    """$VMTP_LOCALCLOUD_STATE_DIR, else /run/vmtp-localcloud."""
    return Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)


def _dir(state_dir: Path | str | None) -> Path:
    return Path(state_dir or default_state_dir())


def _handle(state_dir: Path, info: dict[str, Any], already: bool) -> CloudHandle:
    return CloudHandle(state_dir, state_dir / CLOUDS_FILE, CLOUD_NAME, int(info["pid"]),
                       int(info["port"]), str(info.get("prefix", DEFAULT_PREFIX)), already)


def running(state_dir: Path | str | None = None) -> CloudHandle | None:
    """The cloud running from state_dir (and answering), or None."""
    state_dir = _dir(state_dir)
    info = process.read_server_file(state_dir)
    if not info or not info.get("port") or not process.is_ours(int(info["pid"])):
        return None
    if not (state_dir / CLOUDS_FILE).exists() or not process.answers(int(info["port"])):
        return None
    return _handle(state_dir, info, True)


def is_running(state_dir: Path | str | None = None) -> bool:
    """True when a cloud from state_dir runs and answers."""
    return running(state_dir) is not None


def _write_clouds_yaml(path: Path, port: int, passwords: dict[str, str]) -> None:
    import yaml  # only when starting: reading the handle needs no YAML

    doc = {"clouds": {name: {
        "auth": {"auth_url": f"http://127.0.0.1:{port}/identity", "username": user,
                 "password": passwords[name], "project_name": project,
                 "user_domain_name": "Default", "project_domain_name": "Default"},
        "region_name": "RegionOne", "interface": "public", "identity_api_version": 3}
        for name, (user, project) in USERS.items()}}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(doc, out, default_flow_style=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _last_error(log: Path) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    for line in reversed(lines):
        if line.startswith("error:"):
            return line.removeprefix("error:").strip()
    return lines[-1] if lines else "no output"


@dataclass(frozen=True)
class Networking:
    """What the cloud's networks look like beyond its two ranges (vmtp-localcloud start's
    --physical-networks, --zone, --no-external-network and --no-multicast-relay)."""

    physical_networks: tuple[str, ...] = ("physnet1",)  # for provider networks (flat, VLAN)
    zones: tuple[tuple[str, str], ...] = ()  # (compute host, availability zone); others: nova
    external_network: bool = True  # False: no `public`, no floating IPs, no router gateways
    # Routers relay multicast between their networks (an ML2/OVN cloud whose routers have
    # mcast_relay); False: they forward none (Neutron's L3 agent).
    multicast_relay: bool = True

    def check(self, compute_hosts: int) -> None:
        """CloudError naming the first bad value."""
        names = self.physical_networks
        for name in names:
            if not _PHYSNET.fullmatch(name) or name == "public":
                raise CloudError(f"--physical-networks: {name!r} is not a physical network name "
                                 "(letters, digits, . _ -; 'public' is the external network's)")
        if len(set(names)) != len(names) or len(names) > 9:
            raise CloudError("--physical-networks: at most 9, each named once")
        hosts = {f"compute{i}" for i in range(1, compute_hosts + 1)}
        for host, zone in self.zones:
            if host not in hosts:
                raise CloudError(f"--zone {host}={zone}: no compute host {host} "
                                 f"(hosts: compute1..compute{compute_hosts})")
            if not _ZONE.fullmatch(zone):
                raise CloudError(f"--zone {host}={zone}: a zone name has no ':' nor blanks")

    def arguments(self) -> list[str]:
        args = ["--physical-networks", ",".join(self.physical_networks)]
        for host, zone in self.zones:
            args += ["--zone", f"{host}={zone}"]
        args += [] if self.external_network else ["--no-external-network"]
        return args + ([] if self.multicast_relay else ["--no-multicast-relay"])


_PHYSNET = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ZONE = re.compile(r"[^:\s]{1,255}")


def _server_command(state_dir: Path, port: int, compute_hosts: int, prefix: str,
                    dataplane: str | None, mgmt_cidr: str | None,
                    external_cidr: str | None, networking: Networking) -> list[str]:
    cmd = [sys.executable, "-m", SERVER_MODULE, "--state-dir", str(state_dir),
           "--prefix", prefix, "--compute-hosts", str(compute_hosts), "--port", str(port)]
    for option, value in (("--dataplane", dataplane), ("--mgmt-cidr", mgmt_cidr),
                          ("--external-cidr", external_cidr)):
        if value:
            cmd += [option, value]
    return cmd + networking.arguments()


def _old_passwords(state_dir: Path) -> dict[str, str]:
    """The passwords of the crashed server's clouds.yaml entries (clients keep using them),
    those that are left."""
    import yaml

    try:
        clouds = yaml.safe_load((state_dir / CLOUDS_FILE).read_text())["clouds"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return {}
    out = {}
    for name in USERS:
        try:
            out[name] = str(clouds[name]["auth"]["password"])
        except (KeyError, TypeError):
            continue
    return out


def start(state_dir: Path | str | None = None, port: int = 0, compute_hosts: int = 2,
          prefix: str = DEFAULT_PREFIX, timeout: float = 60.0, dataplane: str | None = None,
          mgmt_cidr: str | None = None, external_cidr: str | None = None,
          networking: Networking | None = None, token_lifetime: float | None = None
          ) -> CloudHandle:
    """Start the local cloud as a detached child (or return the running one); CloudError.

    After a crash (a snapshot left in state_dir) the new server recovers it: same resources,
    users, passwords, tokens and, when free and port is 0, the same port (recovery.py).
    token_lifetime: seconds a token lives (default tokens.TOKEN_LIFETIME, 4 h).

    mgmt_cidr / external_cidr: the data path's two root-namespace /24s (defaults
    198.51.100.0/24 and 203.0.113.0/24); give others to run two clouds side by side.
    networking: physical networks, zones, no external network (the same again to recover)."""
    state_dir = _dir(state_dir)
    if os.geteuid() != 0:
        raise CloudError("the local cloud needs root (it builds network namespaces)")
    if not 0 <= port <= 65535:
        raise CloudError(f"invalid port {port}")
    if not 1 <= compute_hosts <= 200:
        raise CloudError(f"--compute-hosts must be between 1 and 200, not {compute_hosts}")
    networking = networking or Networking()
    networking.check(compute_hosts)
    if token_lifetime is not None and not 1 <= token_lifetime <= MAX_TOKEN_LIFETIME:
        raise CloudError(f"--token-lifetime must be between 1 and {MAX_TOKEN_LIFETIME:.0f} "
                         f"seconds, not {token_lifetime:g}")
    existing = running(state_dir)
    if existing is not None:
        return existing
    info = process.read_server_file(state_dir)
    if info and process.is_ours(int(info["pid"])):
        raise CloudError(f"a local cloud (pid {info['pid']}) in {state_dir} is starting or not "
                         "answering; run `vmtp-localcloud stop` or `clean`")
    recover = process.read_snapshot(state_dir) is not None
    passwords = _old_passwords(state_dir) if recover else {}
    if recover and info and port == 0 and process.port_free(int(info.get("port") or 0)):
        port = int(info["port"])  # clients of the crashed server find this one
    if info and not recover:  # died before its first snapshot: nothing to keep
        clean(state_dir, prefix)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(state_dir, 0o700)
    except OSError as exc:
        raise CloudError(f"cannot use state dir {state_dir}: {exc.strerror}") from None
    for name in USERS:
        passwords.setdefault(name, secrets.token_urlsafe(18))
    log_path = state_dir / LOG_FILE
    cmd = _server_command(state_dir, port, compute_hosts, prefix, dataplane, mgmt_cidr,
                          external_cidr, networking)
    if recover:
        cmd.append("--recover")
    if token_lifetime is not None:
        cmd += ["--token-lifetime", repr(float(token_lifetime))]
    with open(log_path, "ab") as log:
        child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, close_fds=True, cwd="/")
    _children[child.pid] = child
    assert child.stdin is not None
    child.stdin.write("".join(f"{passwords[name]}\n" for name in USERS).encode())
    child.stdin.close()
    deadline = time.monotonic() + timeout
    while True:
        if child.poll() is not None:
            _children.pop(child.pid, None)
            raise CloudError(f"local cloud failed to start: {_last_error(log_path)} "
                             f"(log: {log_path})")
        info = process.read_server_file(state_dir)
        if info and info.get("pid") == child.pid and info.get("port") \
                and process.answers(int(info["port"]), timeout=0.5):
            break
        if time.monotonic() > deadline:
            procgroup.send_signal(child.pid, signal.SIGTERM)
            raise CloudError(f"local cloud did not answer within {timeout:.0f} s (log: {log_path})")
        time.sleep(0.02)
    _write_clouds_yaml(state_dir / CLOUDS_FILE, int(info["port"]), passwords)
    return _handle(state_dir, info, False)


def stop(state_dir: CloudHandle | Path | str | None = None, timeout: float = 60.0) -> bool:
    """Stop the cloud (it removes its kernel objects) and wait; False when none was running.

    state_dir: the directory, or the CloudHandle start() returned."""
    state_dir = state_dir.state_dir if isinstance(state_dir, CloudHandle) else _dir(state_dir)
    info = process.read_server_file(state_dir)
    if not info or not process.is_ours(int(info["pid"])):
        if info or (state_dir / SNAPSHOT).exists():
            raise CloudError(f"the local cloud in {state_dir} is not running but left state "
                             "behind; run `vmtp-localcloud clean`")
        return False
    pid = int(info["pid"])
    procgroup.send_signal(pid, signal.SIGTERM)
    child = _children.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    if not process.wait_gone(pid, timeout):
        raise CloudError(f"the local cloud (pid {pid}) did not stop within {timeout:.0f} s; "
                         "run `vmtp-localcloud clean`")
    (state_dir / CLOUDS_FILE).unlink(missing_ok=True)
    return True


def clean(state_dir: Path | str | None = None, prefix: str | None = None) -> None:
    """After a crash: kill the server, remove its kernel objects and its state. Idempotent."""
    state_dir = _dir(state_dir)
    info = process.read_server_file(state_dir) or {}
    snapshot = process.read_snapshot(state_dir) or {}
    prefix = prefix or info.get("prefix") or snapshot.get("prefix") or DEFAULT_PREFIX
    pid = int(info.get("pid") or 0)
    if pid and process.is_ours(pid):
        procgroup.kill_groups([pid])
        process.wait_gone(pid, 10.0)
    _children.pop(pid, None)
    dataplane = load_dataplane_class(info.get("dataplane") or DEFAULT_DATAPLANE)
    dataplane.clean(prefix, state_dir / DATAPLANE_DIR)
    for name in (SERVER_FILE, SNAPSHOT, CLOUDS_FILE, TOKEN_KEY, HOSTS_GMOND, SNAPSHOT + ".tmp",
                 SERVER_FILE + ".tmp"):
        (state_dir / name).unlink(missing_ok=True)
    shutil.rmtree(state_dir / DATAPLANE_DIR, ignore_errors=True)
    shutil.rmtree(state_dir / IMAGES_DIR, ignore_errors=True)
