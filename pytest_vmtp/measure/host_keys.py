"""SSH host keys checked the way OpenSSH checks them, for paramiko clients.

known_hosts files: the target's own (known_hosts=PATH in a host spec; the run's private file
for its VMs), else the user's ~/.ssh/known_hosts and the system's /etc/ssh/ssh_known_hosts.
A key found there must match (paramiko raises BadHostKeyException otherwise: always refused).
A host with no key there is refused (`strict`) or accepted and appended to the first file
(`accept-new`, as StrictHostKeyChecking=accept-new). Hashed names are understood; marker lines
(@cert-authority, @revoked) and wildcard patterns are not (such hosts count as unknown).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import logging
import os
from pathlib import Path

import paramiko

from .hostspec import ACCEPT_NEW, SshTarget

log = logging.getLogger(__name__)

USER_KNOWN_HOSTS = "~/.ssh/known_hosts"
SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"


class UnknownHostKey(paramiko.SSHException):
    """The host offered a key that no known_hosts file has, and new keys are not accepted."""

    def __init__(self, hostname: str, key: paramiko.PKey, files: list[Path]) -> None:
        super().__init__(f"unknown host key for {hostname}")
        self.hostname, self.key, self.files = hostname, key, files


def known_hosts_files(target: SshTarget) -> list[Path]:
    """Where the target's host key is looked up; new keys go to the first."""
    if target.known_hosts:
        return [Path(target.known_hosts).expanduser()]
    return [Path(USER_KNOWN_HOSTS).expanduser(), Path(SYSTEM_KNOWN_HOSTS)]


def load_known_hosts(keys: paramiko.HostKeys, path: Path) -> None:
    """Add the file's entries to keys; lines paramiko cannot read are skipped, not fatal."""
    try:
        text = path.read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[0].startswith(("#", "@")):
            continue
        names, key_type, blob = fields[:3]
        try:
            key = paramiko.PKey.from_type_string(key_type, base64.b64decode(blob, validate=True))
        except (paramiko.SSHException, binascii.Error, ValueError, TypeError):
            continue
        for name in names.split(","):
            keys.add(name, key_type, key)


def append_known_host(path: Path, hostname: str, key: paramiko.PKey) -> None:
    """Append `hostname type base64` to path (made 0600 in a 0700 directory if new)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # two processes meeting the same new host
        size = f.seek(0, os.SEEK_END)
        newline = b""
        if size:
            f.seek(size - 1)
            newline = b"" if f.read(1) == b"\n" else b"\n"
        f.write(newline + f"{hostname} {key.get_name()} {key.get_base64()}\n".encode())


def forget_known_hosts(path: Path, hostnames: set[str]) -> int:
    """Remove the lines of these hosts from a known_hosts file (under the same lock as
    append_known_host); how many went. For a run's own VMs that were deleted: a new VM may
    get the same address with a new key."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return 0
    with os.fdopen(fd, "r+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        lines = f.read().decode(errors="replace").splitlines(keepends=True)
        kept = [ln for ln in lines if not (ln.split() and set(ln.split()[0].split(",")) & hostnames)]
        f.seek(0)
        f.write("".join(kept).encode())
        f.truncate()
    return len(lines) - len(kept)


class _Policy(paramiko.MissingHostKeyPolicy):
    """Called by paramiko only for a host that has no key in the loaded files."""

    def __init__(self, target: SshTarget, files: list[Path]) -> None:
        self.target, self.files = target, files

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if self.target.host_key_policy != ACCEPT_NEW:
            raise UnknownHostKey(hostname, key, self.files)
        append_known_host(self.files[0], hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)
        log.info("added %s host key %s of %s to %s", key.get_name(), key.fingerprint, hostname, self.files[0])


def use_known_hosts(client: paramiko.SSHClient, target: SshTarget) -> None:
    """Make client check host keys for target as described above (replaces any policy)."""
    files = known_hosts_files(target)
    for path in files:
        load_known_hosts(client.get_host_keys(), path)
    client.set_missing_host_key_policy(_Policy(target, files))


def _host_arg(hostname: str) -> tuple[str, str]:
    """(host, port) for ssh-keyscan from a known_hosts name: "h" or "[h]:port"."""
    if hostname.startswith("[") and "]:" in hostname:
        host, _, port = hostname[1:].partition("]:")
        return host, port
    return hostname, "22"


def describe_unknown_key(exc: UnknownHostKey) -> str:
    host, port = _host_arg(exc.hostname)
    where = " or ".join(str(f) for f in exc.files)
    return (f"unknown host key {exc.key.get_name()} {exc.key.fingerprint} of {exc.hostname} (not in {where}): "
            f"check it, then add it (ssh-keyscan -p {port} {host} >> {exc.files[0]}), or accept new keys "
            "with ',hostkey=accept-new' in the host spec or --vmtp-accept-new-host-keys")


def describe_changed_key(exc: paramiko.BadHostKeyException, target: SshTarget) -> str:
    files = known_hosts_files(target)
    where = " or ".join(str(f) for f in files)
    port = target.port
    if target.jump is not None and exc.hostname == target.jump.host != target.host:
        port = target.jump.port
    name = exc.hostname if port == 22 else f"[{exc.hostname}]:{port}"
    return (f"host key of {name} CHANGED: it offers {exc.key.get_name()} {exc.key.fingerprint}, "
            f"{where} has {exc.expected_key.get_name()} {exc.expected_key.fingerprint}; refused: "
            f"if the host was reinstalled, remove the old key (ssh-keygen -R '{name}' -f {files[0]}), "
            "else someone may be in the middle")
