"""The store's schema version, and upgrades to the current one (alembic).

Why alembic: it is SQLAlchemy's migration tool (same dialects, batch mode for SQLite's limited
ALTER TABLE), keeps the version in the database itself, and orders revisions as a chain, so
that `vmtp-history upgrade` brings a store of any older version to the current one in one step.
The migrations ship inside the package (pytest_vmtp/history/migrations) and run on a
connection this module hands over: no alembic.ini, no environment to set up.
"""

from __future__ import annotations

from functools import lru_cache

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from pytest_vmtp.history.schema import VERSION_TABLE

SCRIPT_LOCATION = "pytest_vmtp.history:migrations"


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The schema version this pytest-vmtp writes."""
    rev = _scripts().get_current_head()
    assert rev is not None, "no migrations shipped"
    return rev


def known(revision: str) -> bool:
    """True when revision is one of ours (an older or the current version)."""
    return any(s.revision == revision for s in _scripts().walk_revisions())


def current(conn: Connection) -> str | None:
    """The store's schema version; None when the database holds no store."""
    ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def has_tables(conn: Connection) -> bool:
    """True when the store's tables exist (with or without a version)."""
    return inspect(conn).has_table("vmtp_runs")


def upgrade(conn: Connection, target: str = "head") -> None:
    """Migrate the store on conn (inside its transaction) to target (default: the current version)."""
    from alembic import command

    command.upgrade(_config(conn), target)
