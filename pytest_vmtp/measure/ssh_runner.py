"""Run commands on a remote host over ssh (fabric on paramiko).

Host keys are checked as OpenSSH does (see host_keys.py): against known_hosts, an unknown key
refused unless the target accepts new ones (added to its known_hosts file), a changed key
always refused. The user's ~/.ssh/config is not read, so a run does not depend on who starts it.
Each runner serialises its own calls with a lock; runners to different hosts are independent
and may be used from different threads.

No fault hangs a runner (measure/deadlines.py): every command has a timeout; keepalives every
`keepalive_s` and TCP_USER_TIMEOUT on the socket end a connection that gets no answer for
`dead_after_s` (a link down, a VM gone), which unblocks whatever waited on it; opening a
channel waits as long at most (paramiko's own default is an hour). A command whose connection
died says "connection lost", naming what was seen.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import shlex
import socket
import threading

import paramiko
from fabric import Config, Connection
from invoke.exceptions import CommandTimedOut

from .errors import RunnerError
from .host_keys import UnknownHostKey, describe_changed_key, describe_unknown_key, use_known_hosts
from .hostspec import SshTarget, password_of
from .netns import entered_netns
from .runner import CommandResult, has_binary_command

log = logging.getLogger(__name__)


def _connection(target: SshTarget, netns: str | None) -> Connection:
    """A fabric Connection; the first hop's socket is opened from netns when given."""
    config = Config(ssh_config=paramiko.SSHConfig(), overrides={"load_ssh_configs": False})
    connect_kwargs: dict = {
        "look_for_keys": False,
        "allow_agent": target.agent,  # paramiko reads SSH_AUTH_SOCK
        "banner_timeout": target.connect_timeout,
        "auth_timeout": target.connect_timeout,
    }
    if target.key_file:
        connect_kwargs["key_filename"] = [target.key_file]
    password = password_of(target)
    if password is not None:  # read now, kept only by paramiko's connect call
        connect_kwargs["password"] = password
    if netns is not None and target.jump is None:
        with entered_netns(netns):
            connect_kwargs["sock"] = socket.create_connection(
                (target.host, target.port), timeout=target.connect_timeout)
    conn = Connection(
        host=target.host, user=target.user, port=target.port, config=config,
        connect_timeout=None if "sock" in connect_kwargs else max(1, round(target.connect_timeout)),
        connect_kwargs=connect_kwargs,
        gateway=_connection(target.jump, netns) if target.jump else None,
    )
    use_known_hosts(conn.client, target)  # fabric itself would accept any host key
    return conn


def _hops(conn: Connection) -> list[Connection]:
    """The connection and its jump host's, outermost first."""
    hops: list[Connection] = []
    hop: object = conn
    while isinstance(hop, Connection):
        hops.append(hop)
        hop = hop.gateway
    return hops


def _keep_alive(conn: Connection, target: SshTarget) -> None:
    """Keepalives, a bounded wait for new channels, and TCP_USER_TIMEOUT on each hop's socket
    (a jump host's channel to the target has no socket of its own: the first hop's bounds it)."""
    for hop in _hops(conn):
        transport = hop.client.get_transport() if hop.client else None
        if transport is None:
            continue
        transport.set_keepalive(max(1, round(target.keepalive_s)))
        transport.channel_timeout = target.dead_after_s
        sock = transport.sock
        if isinstance(sock, socket.socket) and hasattr(socket, "TCP_USER_TIMEOUT"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(target.dead_after_s * 1000))


def _active(conn: Connection) -> bool:
    transport = conn.client.get_transport() if conn.client else None
    return transport is not None and transport.is_active()


def _why_lost(target: SshTarget, netns: str | None) -> str:
    """What is seen of a host whose connection died (paramiko says EOF whatever happened): a
    new TCP connection to its SSH port tells silence (a link down, a host gone) from a dead
    sshd or a session closed by the other end. Through a jump host only "closed" is known."""
    if target.jump is not None:
        return "closed (by the host, its sshd or the jump host)"
    probe_s = min(2.0, target.dead_after_s)
    try:
        with entered_netns(netns) if netns else contextlib.nullcontext():
            sock = socket.create_connection((target.host, target.port), timeout=probe_s)
        sock.close()
    except TimeoutError:
        return f"no answer (a link down or the host gone; dead after {target.dead_after_s:g} s of silence)"
    except ConnectionRefusedError:
        return "nothing listens on its SSH port any more (its sshd or the host died)"
    except OSError as exc:
        return f"no way there any more ({exc.strerror or exc})"
    return "closed by the other end (its sshd or session died)"


def _short(command: str, limit: int = 120) -> str:
    return command if len(command) <= limit else command[: limit - 3] + "..."


def explain_ssh_failure(target: SshTarget, exc: BaseException) -> str:
    """One line saying why ssh to target failed, and what to check."""
    where = f"ssh {target.label}" + (f" (via jump {target.jump.label})" if target.jump else "")
    if isinstance(exc, UnknownHostKey):
        return f"{where}: {describe_unknown_key(exc)}"
    if isinstance(exc, paramiko.BadHostKeyException):
        return f"{where}: {describe_changed_key(exc, target)}"
    if isinstance(exc, paramiko.AuthenticationException):
        return f"{where}: authentication failed {_auth_methods(target)}: check the user and credentials"
    if isinstance(exc, paramiko.SSHException) and "No authentication methods available" in str(exc):
        return (f"{where}: authentication failed {_auth_methods(target)}: nothing to offer; give key=PATH, "
                "password_env=VAR, or an SSH agent (SSH_AUTH_SOCK)")
    if isinstance(exc, (paramiko.ssh_exception.NoValidConnectionsError, ConnectionRefusedError)):
        return f"{where}: connection refused on port {target.port}: is sshd running there?"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return (f"{where}: no answer within {target.connect_timeout:g} s: "
                "host down, wrong address or filtered")
    if isinstance(exc, socket.gaierror):
        return f"{where}: cannot resolve host name: {exc.strerror or exc}"
    if isinstance(exc, paramiko.ChannelException):
        return f"{where}: jump host could not open a connection onward: {exc.text or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{where}: {exc.strerror}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{where}: {text}"


def _auth_methods(target: SshTarget) -> str:
    """What was offered: 'with key K', 'with the SSH agent', 'with the password in $PW'."""
    tried = [f"with key {target.key_file}"] if target.key_file else []
    if target.agent:
        sock = os.environ.get("SSH_AUTH_SOCK")
        tried.append("with the SSH agent" if sock else "with the SSH agent (SSH_AUTH_SOCK is not set)")
    if target.password_env:
        tried.append(f"with the password in ${target.password_env}")
    return " and ".join(tried) if tried else "(no key, agent or password given)"


def host_address(target: SshTarget) -> str:
    """The target's IP address (its DNS name resolved here): what the tools are pointed at."""
    try:
        ipaddress.ip_address(target.host)
        return target.host
    except ValueError:
        pass
    try:
        return str(socket.getaddrinfo(target.host, target.port, proto=socket.IPPROTO_TCP)[0][4][0])
    except (socket.gaierror, UnicodeError, IndexError) as exc:
        raise RunnerError(f"ssh {target.label}: cannot resolve host name: {exc}") from None


_TRANSPORT_ERRORS = (paramiko.SSHException, OSError, EOFError)

# sshd starts each command in a new session: the shell's pid is the group of all it starts.
_PGID_MARK = "__vmtp_pgid="
_PGID_ECHO = f"echo {_PGID_MARK}$$ >&2; "
# After the command, on a line of its own: the shell then forks the command instead of exec'ing
# it, and reports a signal that killed it as 128 + N (sshd's exit-signal for an exec'd command
# is lost: paramiko reads only exit-status, so such a command would have no status at all).
_EXIT_STATUS = "\nexit $?"


def _strip_pgid(stderr: str) -> tuple[int | None, str]:
    """(the command's process group, stderr without the marker line)."""
    first, sep, rest = stderr.partition("\n")
    if first.startswith(_PGID_MARK) and first[len(_PGID_MARK):].isdigit():
        return int(first[len(_PGID_MARK):]), rest
    return None, stderr


def _group_alive(pgid: int | str) -> str:
    """Shell test: does process group pgid have a live (non-zombie) member?

    Zombies count for `kill -0`, and an orphan's zombie waits for init to reap it, which
    can take a while: reading /proc/*/stat ignores them.
    """
    return (
        f"( [ -d /proc/self ] || exec kill -0 -{pgid} 2>/dev/null; "
        "for f in /proc/[0-9]*/stat; do read -r l < $f 2>/dev/null || continue; "
        f"set -- ${{l##*) }}; [ \"$1\" != Z ] && [ \"$3\" = {pgid} ] && exit 0; done; exit 1 )"
    )


class _UnstartedError(RunnerError):
    """The connection failed before the command started (so running it again is safe)."""


class SshBackground:
    """A remote process started with setsid, its files (pid, log) in a private directory made
    by mktemp -d. Its process group id is recorded so that stop() can kill it and its children
    without relying on the ssh channel staying open.

    A watchdog holds one channel open for it (see _LAUNCH): when the channel closes (stop(), or
    this process dying without a word, kill -9) the watchdog ends the group and removes the
    directory, so a killed run leaves neither a server holding the port nor files behind."""

    def __init__(self, runner: SshRunner, pgid: int, directory: str, watchdog: paramiko.Channel | None) -> None:
        self._runner = runner
        self.pgid = pgid
        self.directory = directory
        self._watchdog = watchdog
        self._lock = threading.Lock()
        self._stopped = False
        self._log = ""

    def alive(self) -> bool:
        if self._stopped:
            return False
        return self._runner.run(_group_alive(self.pgid), timeout=15).ok

    def log(self) -> str:
        if self._stopped:
            return self._log
        return self._runner.run(f"cat {self.directory}/log 2>/dev/null", timeout=15).stdout

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            g = self.pgid
            script = (
                f"kill -TERM -{g} 2>/dev/null; i=0; "
                f"while {_group_alive(g)} && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; "
                f"kill -KILL -{g} 2>/dev/null; cat {self.directory}/log 2>/dev/null; "
                f"rm -rf {self.directory}"
            )
            try:
                self._log = self._runner.run(script, timeout=20).stdout
            except RunnerError as exc:  # host gone: nothing more can be done from here
                log.warning("could not stop background process group %s: %s", g, exc)
            if self._watchdog is not None:
                self._watchdog.close()  # its work is done; it finds nothing left
            self._stopped = True


# Started on a channel of its own: make a private directory, start the command in a new
# session writing its pid and log there, say "<directory> <pid>", then wait for the channel's
# end (cat returns at EOF: the runner closed it, or the connection died with its process)
# and end the group and the directory. $0 of the inner shell is the directory. Once the
# command runs, SIGPIPE and SIGHUP are ignored (not before: the command would inherit that):
# the channel may be gone before the first line is even written.
_LAUNCH = """\
d=$(mktemp -d /tmp/vmtp-bg.XXXXXXXX) || exit 1
setsid sh -c {inner} "$d" </dev/null >"$d/log" 2>&1 &
trap '' PIPE HUP
i=0; while [ ! -s "$d/pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
echo "$d $(cat "$d/pid" 2>/dev/null)"
exec >/dev/null 2>&1
cat
g=$(cat "$d/pid" 2>/dev/null)
if [ -n "$g" ]; then
  kill -TERM -"$g"; i=0; while {alive} && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL -"$g"
fi
rm -rf "$d"
"""
_BG_DIR = re.compile(r"/tmp/vmtp-bg\.[A-Za-z0-9]+")


class SshRunner:
    """Runs shell commands on target over one ssh connection, opened on first use."""

    def __init__(self, target: SshTarget, netns: str | None = None) -> None:
        """netns: open the ssh connection from this local network namespace (tests, local
        cloud); None = from wherever this process is."""
        self.target = target
        self.netns = netns
        self.label = target.label
        self._conn: Connection | None = None
        self._lock = threading.RLock()
        self._backgrounds: list[SshBackground] = []

    def _open(self) -> Connection:
        if self.target.key_file and not os.access(self.target.key_file, os.R_OK):
            raise RunnerError(f"ssh {self.label}: key file {self.target.key_file} not readable")
        if self.target.password_env and password_of(self.target) is None:
            raise RunnerError(f"ssh {self.label}: password_env={self.target.password_env}: that environment "
                              "variable is not set")
        if self._conn is None or not self._conn.is_connected:
            conn = None
            try:
                conn = _connection(self.target, self.netns)
                conn.open()
                _keep_alive(conn, self.target)
            except Exception as exc:  # paramiko raises many kinds; all mean "cannot connect"
                if conn is not None:
                    conn.close()
                raise RunnerError(explain_ssh_failure(self.target, exc)) from exc
            self._conn = conn
        return self._conn

    def connect(self) -> None:
        """Open the connection now, to report an unreachable host before measuring."""
        with self._lock:
            self._open()

    def run(self, command: str, timeout: float) -> CommandResult:
        with self._lock:
            reused = self._conn is not None and self._conn.is_connected
            try:
                return self._run(command, timeout)
            except _UnstartedError as exc:
                if not reused:
                    raise RunnerError(str(exc)) from exc
                # The connection had died while idle (a link that failed between two commands,
                # a VM restarted): the command never started, a new connection runs it.
                log.info("%s: %s; reconnecting once", self.label, exc)
                try:
                    self._open()
                except RunnerError as again:  # still gone: what was seen first says most
                    raise RunnerError(f"{exc} (connecting again: {str(again).split(': ', 1)[-1]})") from again
                try:
                    return self._run(command, timeout)
                except _UnstartedError as again:
                    raise RunnerError(str(again)) from again

    def _run(self, command: str, timeout: float) -> CommandResult:
        conn = self._open()
        try:
            res = conn.run(_PGID_ECHO + command + _EXIT_STATUS, hide=True, warn=True, timeout=timeout,
                           in_stream=False, pty=False)
        except CommandTimedOut as exc:
            # Closing the channel does not end a command without a tty: kill its group.
            pgid = _strip_pgid(exc.result.stderr)[0]
            killed = False
            if pgid and _active(conn):
                try:
                    conn.run(f"kill -KILL -{pgid}", hide=True, warn=True, timeout=15, in_stream=False)
                    killed = True
                except Exception:  # noqa: BLE001 - best effort: the timeout is what gets reported
                    log.warning("%s: could not kill timed-out command group %s", self.label, pgid)
            if not _active(conn):  # the command did not end because nothing came back
                why = _why_lost(self.target, self.netns)
                self._drop()
                raise RunnerError(f"ssh {self.label}: command timed out after {timeout:g} s and the "
                                  f"connection was lost ({why}): {_short(command)}") from exc
            if not killed:  # no way to reach the host now: the next command connects again
                self._drop()
            raise RunnerError(f"ssh {self.label}: command timed out after {timeout:g} s: {command}") from exc
        except _TRANSPORT_ERRORS as exc:
            lost = not _active(conn) or "Timeout opening channel" in str(exc)
            self._drop()
            if lost:
                message = (f"ssh {self.label}: connection lost while running {_short(command)}: "
                           f"{_why_lost(self.target, self.netns)}")
                # Failing to open or start the channel: the command did not run.
                raise (_UnstartedError(message) if isinstance(exc, paramiko.SSHException) else RunnerError(message)) \
                    from exc
            raise RunnerError(explain_ssh_failure(self.target, exc)) from exc
        if res.exited == -1 and not _active(conn):  # the channel closed with no exit status
            why = _why_lost(self.target, self.netns)
            self._drop()
            message = f"ssh {self.label}: connection lost while running {_short(command)}: {why}"
            started = _strip_pgid(res.stderr)[0] is not None  # the shell's first line came back
            raise RunnerError(message) if started else _UnstartedError(message)
        return CommandResult(command, res.exited, res.stdout, _strip_pgid(res.stderr)[1])

    def start(self, command: str) -> SshBackground:
        inner = shlex.quote(f'echo $$ > "$0/pid"; exec {command}')
        script = _LAUNCH.format(inner=inner, alive=_group_alive('"$g"'))
        with self._lock:
            conn = self._open()
            try:
                transport = conn.client.get_transport()
                if transport is None:
                    raise paramiko.SSHException("no transport")
                watchdog = transport.open_session(timeout=15)
                watchdog.settimeout(30)
                watchdog.exec_command(script)
                first = watchdog.makefile("rb").readline().decode(errors="replace").split()
            except _TRANSPORT_ERRORS as exc:  # socket.timeout included
                self._drop()
                raise RunnerError(f"{explain_ssh_failure(self.target, exc)} (starting in background: "
                                  f"{command})") from exc
        if len(first) != 2 or not _BG_DIR.fullmatch(first[0]) or not first[1].isdigit():
            watchdog.close()
            raise RunnerError(f"ssh {self.label}: could not start in background: {command}"
                              f" ({' '.join(first) or 'no pid'})")
        bg = SshBackground(self, int(first[1]), first[0], watchdog)
        self._backgrounds.append(bg)
        return bg

    def has_binary(self, name: str) -> bool:
        return self.run(has_binary_command(name), timeout=15).ok

    def put_file(self, local_path: str, remote_path: str, mode: int = 0o755) -> None:
        with self._lock:
            conn = self._open()
            try:
                conn.put(local_path, remote_path)
                conn.sftp().chmod(remote_path, mode)
            except _TRANSPORT_ERRORS as exc:
                raise RunnerError(f"ssh {self.label}: cannot copy {local_path} to "
                                  f"{remote_path}: {exc}") from exc

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            for hop in _hops(conn):  # the jump host's connection too
                hop.close()

    def close(self) -> None:
        """Stop servers still running there, then close the connection (and jump host)."""
        with self._lock:
            for bg in self._backgrounds:
                bg.stop()
            self._backgrounds.clear()
            self._drop()

    def __enter__(self) -> SshRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SshRunner({self.label!r})"
