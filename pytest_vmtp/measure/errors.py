"""Exceptions of the measurement engine.

Every expected failure (host unreachable, tool missing, tool error) is one of these, with a
one-line message meant for the user, so callers can report it instead of a traceback.
"""

from __future__ import annotations

from pytest_vmtp.user_error import UserError


class MeasureError(UserError):
    """A measurement could not be made; str(exc) is one line saying why."""


class RunnerError(MeasureError):
    """A command could not be run at all: host unreachable, authentication, timeout."""


class ToolMissing(MeasureError):  # noqa: N818 - the condition a user fixes
    """The measurement tool is not installed on a host."""


def one_line(text: str, limit: int = 300) -> str:
    """Squash tool output into a single line for an error message."""
    flat = " ".join(part.strip() for part in text.strip().splitlines() if part.strip())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
