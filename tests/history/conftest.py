"""History tests: every store test runs against a SQLite file and a real PostgreSQL server
(started here on a private port and socket directory, removed at the end)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.history.pg_server import PgServer, pg_server

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    with pg_server() as server:
        yield server


@pytest.fixture
def pg_database(pg: PgServer) -> Iterator[str]:
    """A fresh, empty database; its name."""
    name = pg.create_database()
    try:
        yield name
    finally:
        pg.drop_database(name)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The location of an empty store: a SQLite file path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        yield str(tmp_path / "history.sqlite")
        return
    yield request.getfixturevalue("pg").url(request.getfixturevalue("pg_database"))


@pytest.fixture
def store(store_url: str):
    from pytest_vmtp.history import open_store

    with open_store(store_url) as s:
        yield s
