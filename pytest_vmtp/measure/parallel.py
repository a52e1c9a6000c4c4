"""Several clients run at once, each against its own server, starting at one shared moment.

The start is Shaker's: each client gets a start time chosen here (this machine's clock plus a
lead that covers reaching every client), waits for it in its own shell, prints the moment it
really started and runs the tool. The clocks of the hosts must agree (NTP; the local cloud's
VMs share this machine's clock); the skew between the printed moments is reported. Every
tool then runs for the same duration from the same moment: the measured windows match.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace

from . import deadlines
from .errors import MeasureError
from .flows import ToolSession
from .probe import RunOutcome, RunSpec
from .runner import CommandResult

START_MARK = "vmtp-start"
_STAMP = re.compile(rf"^{START_MARK} (\d+(?:\.\d+)?)\s*$", re.M)


def synced_command(command: str, start_at: float, max_wait_s: float) -> str:
    """The client command run at start_at (epoch seconds), waiting at most max_wait_s (a host
    whose clock is far behind must not sleep for an hour). POSIX sh, date +%s.%N and awk:
    coreutils' and busybox's."""
    wait = (f"w=$(awk -v t={start_at:.6f} -v m={max_wait_s:.3f} -v n=\"$(date +%s.%N)\" "
            "'BEGIN { w = t - n; if (w > m) w = m; if (w < 0) w = 0; printf \"%.6f\", w }')")
    return f"{wait}; sleep \"$w\"; echo \"{START_MARK} $(date +%s.%N)\" >&2; {command}"


def split_start(result: CommandResult) -> tuple[CommandResult, float | None]:
    """The tool's own result (the start line taken out of stderr) and the moment it started."""
    found = _STAMP.search(result.stderr)
    if found is None:
        return result, None
    stderr = (result.stderr[:found.start()] + result.stderr[found.end():]).strip("\n")
    return replace(result, stderr=stderr), float(found.group(1))


@dataclass(frozen=True)
class Together:
    """One run of every pair: their outcomes (in pair order) and when each client started."""

    outcomes: list[RunOutcome]
    started: list[float | None]
    start_at: float

    def offsets_ms(self) -> list[float | None]:
        """Each client's start after the shared start time, in ms."""
        return [round((s - self.start_at) * 1000, 3) if s is not None else None for s in self.started]


def open_sessions(stack: ExitStack, sessions: Sequence[ToolSession]) -> None:
    """Start every pair's server at once; each started one is stopped when stack closes, also
    when another fails (the first failure is raised)."""
    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        futures = [pool.submit(s.__enter__) for s in sessions]
    errors = []
    for session, future in zip(sessions, futures, strict=True):
        exc = future.exception()
        if exc is None:
            stack.push(session.__exit__)
        else:
            errors.append(exc)
    if errors:
        raise errors[0]


def dispatch_s(sessions: Sequence[ToolSession], clock: Callable[[], float] = time.monotonic) -> float:
    """How long a command takes to reach every client at once and come back (SSH channels
    opened, threads scheduled): the start time must lie further ahead than that."""
    began = clock()
    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        list(pool.map(lambda s: s.client.run("true", timeout=60), sessions))
    return clock() - began


def run_together(sessions: Sequence[ToolSession], specs: Sequence[RunSpec], lead_s: float,
                 clock: Callable[[], float] = time.time) -> Together:
    """Run specs[i] on sessions[i], all clients starting lead_s from now; MeasureError naming
    the pair on the first failure (after every client is done)."""
    commands = [s.prepare(spec) for s, spec in zip(sessions, specs, strict=True)]
    start_at = clock() + lead_s

    def one(i: int) -> tuple[RunOutcome, float | None]:
        spec, session = specs[i], sessions[i]
        result = session.client.run(synced_command(commands[i], start_at, lead_s + 1.0),
                                    timeout=deadlines.command(session.tool.settings, lead_s + 1.0 + spec.duration_s))
        result, started = split_start(result)
        try:
            return session.finish(spec, commands[i], result), started
        except MeasureError as exc:
            raise MeasureError(f"pair {i + 1}: {exc}") from None

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        done = list(pool.map(one, range(len(sessions))))
    return Together([d[0] for d in done], [d[1] for d in done], start_at)
