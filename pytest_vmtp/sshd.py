"""Run a private OpenSSH server inside a network namespace.

Used by the local cloud (one sshd per emulated VM / compute host) and by the plugin's own
tests (native hosts). Each server has its own directory: host key, authorized_keys, config,
pid file and log, so it touches nothing of the machine's own sshd.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_vmtp.procgroup import stop_group

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"

_CONFIG = """\
Port {port}
ListenAddress {listen}
HostKey {dir}/ssh_host_ed25519_key
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
PermitRootLogin {root_login}
PasswordAuthentication {password_auth}
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxStartups 100:30:200
MaxSessions 50
Subsystem sftp internal-sftp
"""


class SshdError(RuntimeError):
    """sshd could not be started; the message says why."""


@dataclass
class SshdHandle:
    netns: str | None
    directory: Path
    pid: int
    port: int

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the server and whatever is left in its process group (SIGTERM, then SIGKILL)."""
        stop_group(self.pid, timeout)


def _quoted(value: str) -> str:
    """A SetEnv value: double-quoted when it holds blanks (sshd_config's own quoting)."""
    if any(c in value for c in '"\n'):
        raise SshdError(f"environment value {value!r}: no quotes or newlines")
    return f'"{value}"' if any(c.isspace() for c in value) else value


def ensure_host_key(directory: Path) -> None:
    key = directory / "ssh_host_ed25519_key"
    if not key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
            check=True, capture_output=True,
        )


def start_sshd(
    directory: Path | str,
    authorized_keys: str,
    netns: str | None = None,
    port: int = 22,
    listen: str = "0.0.0.0",
    timeout: float = 10.0,
    host_key_from: Path | None = None,
    root_password_hash: str | None = None,
    environment: dict[str, str] | None = None,
) -> SshdHandle:
    """Start sshd (in netns, if given) and return once it listens.

    host_key_from: copy an existing host key instead of generating one (ssh-keygen costs
    ~10 ms; the local cloud boots many VMs and shares one key among them).
    root_password_hash: also accept password logins for root with this crypt(3) hash (tests of
    password hosts). sshd checks passwords against /etc/shadow; this server alone sees a shadow
    file holding just that root entry (bind-mounted in a mount namespace of its own), so the
    machine's accounts and their passwords are neither read nor changed.
    environment: variables every session gets (sshd_config's SetEnv), e.g. where a local-cloud
    VM's config drive is. HOME is the server's own directory/home unless given.
    """
    if not os.path.exists(SSHD):
        raise SshdError("sshd not found: install openssh-server")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if host_key_from is not None and not (directory / "ssh_host_ed25519_key").exists():
        shutil.copy2(host_key_from, directory / "ssh_host_ed25519_key")
        os.chmod(directory / "ssh_host_ed25519_key", 0o600)
    else:
        ensure_host_key(directory)
    (directory / "authorized_keys").write_text(authorized_keys.rstrip("\n") + "\n")
    os.chmod(directory / "authorized_keys", 0o600)
    config = directory / "sshd_config"
    # Its sessions' own home, as a machine of its own has: not this machine's root dotfiles
    # (bash sources ~/.bashrc for SSH commands; a `pyenv init` there slowed and locked them).
    home = directory / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    environment = {"HOME": str(home), **(environment or {})}
    password = root_password_hash is not None
    setenv = "".join(f"SetEnv {name}={_quoted(value)}\n" for name, value in environment.items())
    config.write_text(_CONFIG.format(port=port, listen=listen, dir=directory,
                                     root_login="yes" if password else "prohibit-password",
                                     password_auth="yes" if password else "no") + setenv)
    os.makedirs("/run/sshd", exist_ok=True)  # privilege-separation directory
    log = directory / "sshd.log"
    cmd = [SSHD, "-D", "-e", "-f", str(config)]
    if root_password_hash is not None:
        if any(c in root_password_hash for c in ":\n"):
            raise SshdError("root_password_hash: a crypt(3) hash has no ':' nor newline")
        shadow = directory / "shadow"
        shadow.write_text(f"root:{root_password_hash}:19000:0:99999:7:::\n")
        os.chmod(shadow, 0o600)
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               'mount --bind "$0" /etc/shadow && exec "$@"', str(shadow), *cmd]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    handle = SshdHandle(netns=netns, directory=directory, pid=proc.pid, port=port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Server listening on" in text:
            return handle
        if proc.poll() is not None:
            raise SshdError(f"sshd in {netns or 'root namespace'} exited: {text.strip()[-300:]}")
        time.sleep(0.005)
    handle.stop()
    raise SshdError(f"sshd in {netns or 'root namespace'} did not listen within {timeout:.0f} s")
