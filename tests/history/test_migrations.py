"""Schema versions: a new store is made at the current version by the shipped migrations, an
older store is refused with the command that upgrades it, and that command upgrades it (on
SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from pytest_vmtp.gate.figures import document_figures
from pytest_vmtp.history import HistoryError, SchemaOutdated, migrate, open_store
from pytest_vmtp.history.location import locate
from pytest_vmtp.history.rows import run_fields
from pytest_vmtp.history.schema import VERSION_TABLE, figures, metadata
from tests.history.docs import make_doc

VMTP_HISTORY = str(Path(sys.executable).with_name("vmtp-history"))
PREVIOUS = "0001"


def _engine(url: str) -> sa.Engine:
    return create_engine(locate(url).url)


def test_migrations_end_exactly_at_the_current_tables(store_url):
    """A new store (made by the migrations) has schema.py's tables, indexes and types."""
    open_store(store_url).close()
    engine = _engine(store_url)
    with engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
        assert compare_metadata(ctx, metadata) == []
    engine.dispose()


def _old_store(url: str) -> None:
    """A store at the previous schema version, holding one tagged run, as that version wrote it."""
    engine = _engine(url)
    with engine.begin() as conn:
        migrate.upgrade(conn, PREVIOUS)
        old_runs = sa.table("vmtp_runs", *(sa.column(c) for c in (
            "id", "run_id", "cloud", "date", "description", "passed", "failed", "skipped", "added_at")),
            sa.column("document", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")))
        doc = make_doc("0000aaa")
        conn.execute(sa.insert(old_runs).values(id=1, added_at=datetime(2025, 3, 2), document=doc, **run_fields(doc)))
        conn.execute(sa.text("INSERT INTO vmtp_tags (run_pk, tag) VALUES (1, 'pre-upgrade')"))
    engine.dispose()


def test_an_old_store_is_refused_then_upgraded_by_one_command(store_url):
    _old_store(store_url)
    shown = locate(store_url).shown
    with pytest.raises(SchemaOutdated) as exc:
        open_store(store_url)
    assert str(exc.value) == (f"history {shown}: schema version {PREVIOUS} is older than this pytest-vmtp's "
                              f"({migrate.head()}): run `vmtp-history upgrade --history {shown}`")

    res = subprocess.run([VMTP_HISTORY, "upgrade", "--history", store_url], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"history {shown}: upgraded from schema version {PREVIOUS} to {migrate.head()}\n"

    with open_store(store_url) as store:
        (doc,) = store.find("tag:pre-upgrade")
        assert doc["run_id"] == "0000aaa"
    # The upgrade built the figure rows of the runs stored before it.
    engine = _engine(store_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(figures.c.scenario, figures.c.what, figures.c.metric, figures.c.value)
                            .order_by(figures.c.id)).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(f.scenario, f.what, f.metric, f.value) for f in document_figures(doc)]

    again = subprocess.run([VMTP_HISTORY, "upgrade", "--history", store_url], capture_output=True, text=True)
    assert again.stdout == f"history {shown}: already at schema version {migrate.head()}\n"


def test_the_default_store_names_no_history_option(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    path = tmp_path / "pytest-vmtp" / "history.sqlite"
    path.parent.mkdir()
    _old_store(str(path))
    with pytest.raises(SchemaOutdated, match=r"run `vmtp-history upgrade`$"):
        open_store(None)
    res = subprocess.run([VMTP_HISTORY, "upgrade"], capture_output=True, text=True)
    assert res.stdout == f"history {path}: upgraded from schema version {PREVIOUS} to {migrate.head()}\n"
    open_store(None).close()


def test_a_store_newer_than_this_pytest_vmtp_is_left_alone(store_url):
    open_store(store_url).close()
    engine = _engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))
    engine.dispose()
    shown = locate(store_url).shown
    newer = f"history {shown}: schema version 0099 is newer than this pytest-vmtp knows ({migrate.head()}): " \
            "upgrade pytest-vmtp"
    with pytest.raises(HistoryError) as exc:
        open_store(store_url)
    assert str(exc.value) == newer
    res = subprocess.run([VMTP_HISTORY, "upgrade", "--history", store_url], capture_output=True, text=True)
    assert (res.returncode, res.stderr) == (1, f"vmtp-history: {newer}\n")


def test_tables_without_a_version_are_not_taken_for_a_store(store_url):
    engine = _engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE vmtp_runs (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(HistoryError, match="holds vmtp_ tables without a schema version: not a pytest-vmtp"):
        open_store(store_url)


def test_upgrade_creates_a_missing_store(tmp_path):
    path = tmp_path / "sub" / "h.sqlite"
    res = subprocess.run([VMTP_HISTORY, "upgrade", "--history", str(path)], capture_output=True, text=True)
    assert res.stdout == f"history {path}: created at schema version {migrate.head()}\n"
    with open_store(str(path)) as store:
        store.add(make_doc("0000bbb"))
        assert json.dumps(store.find("last")[0], sort_keys=True) == json.dumps(make_doc("0000bbb"), sort_keys=True)
