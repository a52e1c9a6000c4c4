"""What every runner offers: run a command, start a server in the background, copy a file.

The tools' executors are written against this Protocol only, so the same code measures
between local network namespaces and between remote hosts reached over ssh.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def output(self) -> str:
        """stdout and stderr together: tools print errors on either."""
        return "\n".join(part for part in (self.stdout, self.stderr) if part.strip())


@runtime_checkable
class Background(Protocol):
    """A long-running process (a tool's server); stop() kills it and its children."""

    def alive(self) -> bool: ...

    def log(self) -> str: ...

    def stop(self) -> None: ...


@runtime_checkable
class Runner(Protocol):
    label: str

    def run(self, command: str, timeout: float) -> CommandResult: ...

    def start(self, command: str) -> Background: ...

    def has_binary(self, name: str) -> bool: ...

    def put_file(self, local_path: str, remote_path: str, mode: int = 0o755) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Runner: ...

    def __exit__(self, *exc: object) -> None: ...


def has_binary_command(name: str) -> str:
    """Shell test for an executable on PATH (POSIX `command -v`, present even in busybox)."""
    return f"command -v {shlex.quote(name)} >/dev/null 2>&1"
