"""The run history: every run's results document in a SQL store (a per-user SQLite file by
default, PostgreSQL by URL for a team), with the fields baselines and charts select by.

    from pytest_vmtp.history import open_store
    with open_store(None) as store:
        docs = store.find("tag:pre-upgrade", cloud="prod")

Modules: location (path/URL -> database URL, masking), selectors (tags, `last`/run id/tag:NAME),
schema (tables), rows (document -> indexed rows), migrate + migrations/ (alembic), store
(HistoryStore), mongo (VMTP's MongoDB export), views (what vmtp-history prints).

Importing this package costs nothing: open_store and HistoryStore load SQLAlchemy on first use,
so that the plugin pays for it only when it writes the history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_vmtp.history.errors import HistoryError, RunNotFound, SchemaOutdated

if TYPE_CHECKING:
    from pytest_vmtp.history.store import HistoryStore, StoredRun, open_store, upgrade_store

__all__ = ["HistoryError", "HistoryStore", "RunNotFound", "SchemaOutdated", "StoredRun", "open_store",
           "upgrade_store"]

_LAZY = {"HistoryStore", "StoredRun", "open_store", "upgrade_store"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from pytest_vmtp.history import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
