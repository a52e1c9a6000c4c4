"""Run commands on this machine, optionally inside a network namespace.

Used for native measurements on the controller and for tests between namespaces. Every
command gets its own session so a timeout or stop() kills the whole process tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading

from pytest_vmtp.procgroup import stop_group

from .errors import RunnerError
from .runner import CommandResult, has_binary_command


class LocalBackground:
    """A local server process in its own session; its output goes to a temporary file that
    has no name (unlinked at once), so that no file outlives the run, however it ends."""

    def __init__(self, argv: list[str], label: str, env: dict[str, str] | None = None) -> None:
        self._logfile = tempfile.TemporaryFile(prefix="vmtp-bg-", suffix=".log")
        self._label = label
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._logfile, stderr=subprocess.STDOUT,
            start_new_session=True, env=env,
        )
        self._lock = threading.Lock()
        self._stopped = False
        self._log = ""

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return not self._stopped and self._proc.poll() is None

    def log(self) -> str:
        if self._stopped:
            return self._log
        fd = self._logfile.fileno()  # read without moving the offset the server writes at
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            stop_group(self._proc.pid, 2.0, reap_leader=self._proc.poll)
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            self._log = self.log()
            self._stopped = True
            self._logfile.close()


class LocalRunner:
    """Runs shell commands here, in network namespace `netns` if given (`ip netns exec`).

    env: the commands' whole environment (e.g. a PATH holding uploaded tools); None = ours.
    """

    def __init__(self, netns: str | None = None, env: dict[str, str] | None = None) -> None:
        self.netns = netns
        self.env = env
        self.label = f"local netns {netns}" if netns else "local"
        self._backgrounds: list[LocalBackground] = []

    def _argv(self, command: str) -> list[str]:
        argv = ["/bin/sh", "-c", command]
        return ["/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip", "netns", "exec",
                self.netns, *argv] if self.netns else argv

    def run(self, command: str, timeout: float) -> CommandResult:
        proc = subprocess.Popen(
            self._argv(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True,
            env=self.env,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_group(proc.pid, 0.5, reap_leader=proc.poll)
            proc.communicate()
            raise RunnerError(f"{self.label}: command timed out after {timeout:g} s: {command}") from None
        except BaseException:  # Ctrl-C and the like: the command must not outlive us
            stop_group(proc.pid, 0.5, reap_leader=proc.poll)
            raise
        if self.netns and proc.returncode != 0 and "Cannot open network namespace" in err:
            raise RunnerError(f"{self.label}: {err.strip()}")
        return CommandResult(command, proc.returncode, out, err)

    def start(self, command: str) -> LocalBackground:
        bg = LocalBackground(self._argv(command), self.label, self.env)
        self._backgrounds.append(bg)
        return bg

    def has_binary(self, name: str) -> bool:
        return self.run(has_binary_command(name), timeout=10).ok

    def put_file(self, local_path: str, remote_path: str, mode: int = 0o755) -> None:
        # Namespaces share the file system: a copy is all it takes.
        shutil.copyfile(local_path, remote_path)
        os.chmod(remote_path, mode)

    def close(self) -> None:
        """Stop any server still running: a forgotten server must not outlive the run."""
        for bg in self._backgrounds:
            bg.stop()
        self._backgrounds.clear()

    def __enter__(self) -> LocalRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalRunner({self.netns!r})"
