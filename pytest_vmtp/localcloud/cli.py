"""`vmtp-localcloud start|stop|status|clean`, and the same as functions for the plugin.

start_cloud() spawns the server detached, waits until it answers, then writes
`<state dir>/clouds.yaml` (mode 0600, entry `local`) — the only place the password lives.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import process
from .server import DATAPLANE_DIR, DEFAULT_DATAPLANE, SERVER_FILE, load_dataplane_class
from .state import SNAPSHOT, load_snapshot

DEFAULT_STATE_DIR = Path("/run/vmtp-localcloud")
STATE_DIR_ENV = "VMTP_LOCALCLOUD_STATE_DIR"
DEFAULT_PREFIX = "vlc"
CLOUD_NAME = "local"
CLOUDS_FILE = "clouds.yaml"
LOG_FILE = "server.log"
_children: dict[int, subprocess.Popen[bytes]] = {}


class CloudError(RuntimeError):
    """A user-facing failure; the CLI prints its message as one line."""


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

    def env(self) -> dict[str, str]:
        """Environment for openstacksdk / the openstack CLI."""
        return {"OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml), "OS_CLOUD": self.cloud_name}


def default_state_dir() -> Path:
    return Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)


def _handle(state_dir: Path, info: dict, already: bool) -> CloudHandle:
    return CloudHandle(state_dir, state_dir / CLOUDS_FILE, CLOUD_NAME, int(info["pid"]),
                       int(info["port"]), str(info.get("prefix", DEFAULT_PREFIX)), already)


def running(state_dir: Path | None = None) -> CloudHandle | None:
    """The cloud running from state_dir, or None."""
    state_dir = Path(state_dir or default_state_dir())
    info = process.read_server_file(state_dir)
    if not info or not info.get("port") or not process.is_ours(int(info["pid"])):
        return None
    if not (state_dir / CLOUDS_FILE).exists() or not process.answers(int(info["port"])):
        return None
    return _handle(state_dir, info, True)


def is_running(state_dir: Path | str | None = None) -> bool:
    """True when a cloud from state_dir runs and answers."""
    return running(state_dir) is not None


def _write_clouds_yaml(path: Path, port: int, password: str) -> None:
    doc = {"clouds": {CLOUD_NAME: {
        "auth": {"auth_url": f"http://127.0.0.1:{port}/identity", "username": "admin",
                 "password": password, "project_name": "admin",
                 "user_domain_name": "Default", "project_domain_name": "Default"},
        "region_name": "RegionOne", "interface": "public", "identity_api_version": 3}}}
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


def start_cloud(state_dir: Path | str | None = None, port: int = 0, compute_hosts: int = 2,
                prefix: str = DEFAULT_PREFIX, timeout: float = 60.0,
                dataplane: str | None = None, mgmt_cidr: str | None = None,
                external_cidr: str | None = None) -> CloudHandle:
    """Start the local cloud as a detached child (or return the running one); CloudError.

    mgmt_cidr / external_cidr: the data path's two root-namespace /24s (defaults
    198.51.100.0/24 and 203.0.113.0/24); give others to run two clouds side by side."""
    state_dir = Path(state_dir or default_state_dir())
    if os.geteuid() != 0:
        raise CloudError("the local cloud needs root (it builds network namespaces)")
    if not 0 <= port <= 65535:
        raise CloudError(f"invalid port {port}")
    if not 1 <= compute_hosts <= 200:
        raise CloudError(f"--compute-hosts must be between 1 and 200, not {compute_hosts}")
    existing = running(state_dir)
    if existing is not None:
        return existing
    info = process.read_server_file(state_dir)
    if (info and process.is_ours(int(info["pid"]))):
        raise CloudError(f"a local cloud (pid {info['pid']}) in {state_dir} is starting or not "
                         "answering; run `vmtp-localcloud stop` or `clean`")
    if info or (state_dir / SNAPSHOT).exists():
        raise CloudError(f"leftovers of a crashed local cloud in {state_dir}; run "
                         f"`vmtp-localcloud clean --state-dir {state_dir}` first")
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(state_dir, 0o700)
    except OSError as exc:
        raise CloudError(f"cannot use state dir {state_dir}: {exc.strerror}") from None
    password = secrets.token_urlsafe(18)
    log_path = state_dir / LOG_FILE
    cmd = [sys.executable, "-m", process.SERVER_MODULE, "--state-dir", str(state_dir),
           "--prefix", prefix, "--compute-hosts", str(compute_hosts), "--port", str(port)]
    if dataplane:
        cmd += ["--dataplane", dataplane]
    if mgmt_cidr:
        cmd += ["--mgmt-cidr", mgmt_cidr]
    if external_cidr:
        cmd += ["--external-cidr", external_cidr]
    with open(log_path, "ab") as log:
        child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, close_fds=True, cwd="/")
    _children[child.pid] = child
    assert child.stdin is not None
    child.stdin.write(password.encode() + b"\n")
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
            process.signal_pid(child.pid, signal.SIGTERM)
            raise CloudError(f"local cloud did not answer within {timeout:.0f} s (log: {log_path})")
        time.sleep(0.02)
    _write_clouds_yaml(state_dir / CLOUDS_FILE, int(info["port"]), password)
    return _handle(state_dir, info, False)


def stop_cloud(state_dir: CloudHandle | Path | str | None = None, timeout: float = 60.0) -> bool:
    """Stop the cloud (it removes its kernel objects) and wait; False when none was running.

    state_dir: the directory, or the CloudHandle start_cloud returned."""
    state_dir = state_dir.state_dir if isinstance(state_dir, CloudHandle) else \
        Path(state_dir or default_state_dir())
    info = process.read_server_file(state_dir)
    if not info or not process.is_ours(int(info["pid"])):
        if info or (state_dir / SNAPSHOT).exists():
            raise CloudError(f"the local cloud in {state_dir} is not running but left state "
                             "behind; run `vmtp-localcloud clean`")
        return False
    pid = int(info["pid"])
    process.signal_pid(pid, signal.SIGTERM)
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


def clean_cloud(state_dir: Path | str | None = None, prefix: str | None = None) -> None:
    """After a crash: kill the server, remove its kernel objects and its state. Idempotent."""
    state_dir = Path(state_dir or default_state_dir())
    info = process.read_server_file(state_dir) or {}
    snapshot = load_snapshot(state_dir) or {}
    prefix = prefix or info.get("prefix") or snapshot.get("prefix") or DEFAULT_PREFIX
    pid = int(info.get("pid") or 0)
    if pid and process.is_ours(pid):
        process.kill_group(pid)
        process.wait_gone(pid, 10.0)
    _children.pop(pid, None)
    dp_class = load_dataplane_class(info.get("dataplane") or DEFAULT_DATAPLANE)
    dp_class.clean(prefix, state_dir / DATAPLANE_DIR)
    for name in (SERVER_FILE, SNAPSHOT, CLOUDS_FILE, SNAPSHOT + ".tmp", SERVER_FILE + ".tmp"):
        (state_dir / name).unlink(missing_ok=True)
    shutil.rmtree(state_dir / DATAPLANE_DIR, ignore_errors=True)


# --- the command line -----------------------------------------------------------------------

def _cmd_start(args: argparse.Namespace) -> int:
    handle = start_cloud(args.state_dir, args.port, args.compute_hosts, args.prefix,
                         mgmt_cidr=args.mgmt_cidr, external_cidr=args.external_cidr)
    if handle.already_running:
        print(f"local cloud already running (pid {handle.pid}, {handle.auth_url})")
    else:
        print(f"local cloud started (pid {handle.pid}, {handle.auth_url})")
    print(f"clouds.yaml: {handle.clouds_yaml} (cloud '{handle.cloud_name}')")
    print(f"export OS_CLIENT_CONFIG_FILE={handle.clouds_yaml} OS_CLOUD={handle.cloud_name}")
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    if stop_cloud(args.state_dir):
        print("local cloud stopped")
    else:
        print("local cloud not running")
    return 0


def _cmd_clean(args: argparse.Namespace) -> int:
    clean_cloud(args.state_dir, args.prefix)
    print(f"local cloud state in {args.state_dir or default_state_dir()} cleaned")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from .status import print_status

    return print_status(Path(args.state_dir or default_state_dir()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="vmtp-localcloud", description="An OpenStack API subset on 127.0.0.1 whose "
        "resources are real Linux network objects.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, default=None,
                        help=f"default ${STATE_DIR_ENV} or {DEFAULT_STATE_DIR}")
    start = sub.add_parser("start", parents=[common], help="start the cloud (idempotent)")
    start.add_argument("--port", type=int, default=0, help="API port (0: any free port)")
    start.add_argument("--compute-hosts", type=int, default=2)
    start.add_argument("--prefix", default=DEFAULT_PREFIX,
                       help="name prefix of every kernel object (1-5 characters)")
    start.add_argument("--mgmt-cidr", default=None,
                       help="compute hosts' management /24 (default 198.51.100.0/24)")
    start.add_argument("--external-cidr", default=None,
                       help="external network /24 (default 203.0.113.0/24)")
    start.set_defaults(func=_cmd_start)
    sub.add_parser("stop", parents=[common], help="stop and remove everything").set_defaults(
        func=_cmd_stop)
    sub.add_parser("status", parents=[common], help="what the cloud holds").set_defaults(
        func=_cmd_status)
    clean = sub.add_parser("clean", parents=[common], help="remove leftovers after a crash")
    clean.add_argument("--prefix", default=None, help="default: from the state dir, else vlc")
    clean.set_defaults(func=_cmd_clean)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CloudError as exc:
        print(f"vmtp-localcloud: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for the user; details are in the server log
        print(f"vmtp-localcloud: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
