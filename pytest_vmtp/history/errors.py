"""The history store's user errors: each str() is one line that says what to do.

Imports nothing but UserError, so that the CLI and the plugin can catch them without loading
SQLAlchemy.
"""

from __future__ import annotations

from pytest_vmtp.user_error import UserError


class HistoryError(UserError):
    """The store cannot be reached, read or written; or a bad location, tag or selector."""


class RunNotFound(HistoryError):  # noqa: N818 - the condition, as the CLI reports it
    """A selector or run id matched no stored run; the line says what the store holds."""


class SchemaOutdated(HistoryError):  # noqa: N818 - the condition, as vmtp-history upgrade names it
    """The store was made by an older pytest-vmtp: `vmtp-history upgrade` brings it up to date."""
