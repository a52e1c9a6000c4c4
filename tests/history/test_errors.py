"""Every way of not reaching a store is one line that says why, with no password in it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_vmtp.history import HistoryError, open_store
from pytest_vmtp.history.location import default_path, locate, mask
from tests.history.pg_server import PgServer

VMTP_HISTORY = str(Path(sys.executable).with_name("vmtp-history"))
SECRET = "s3cr3t-Pa55"


def _cli_error(url: str) -> str:
    res = subprocess.run([VMTP_HISTORY, "list", "--history", url], capture_output=True, text=True)
    assert res.returncode == 1 and res.stdout == ""
    assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1, res.stderr
    return res.stderr.strip()


def _error(url: str, **kwargs) -> str:
    with pytest.raises(HistoryError) as exc:
        open_store(url, **kwargs)
    text = str(exc.value)
    assert "\n" not in text and SECRET not in text
    return text


@pytest.mark.parametrize("spec, message", [
    (f"mysql://root:{SECRET}@db/x", "history mysql://root:***@db/x: unsupported kind of database 'mysql'; "
                                    "give a file path (SQLite) or postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE"),
    ("sqlite://relative.db", "history sqlite://relative.db: write sqlite:///PATH"),
    (f"postgresql://u:{SECRET}@db:port/x", "history postgresql://u:***@db:port/x: not a valid database URL"),
    ("postgresql://", "history postgresql://: write postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE"),
])
def test_bad_locations(spec, message):
    assert _error(spec).startswith(message)
    assert _cli_error(spec).startswith(f"vmtp-history: {message}")


def test_locations():
    assert locate(None).url == f"sqlite:///{default_path()}" and locate(None).default
    assert locate("~/h.db").sqlite_path == Path.home() / "h.db"
    assert locate("sqlite:////tmp/h.db").sqlite_path == Path("/tmp/h.db")
    for scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        loc = locate(f"{scheme}://u:{SECRET}@db:5433/x?sslmode=require")
        assert loc.url == f"postgresql+psycopg://u:{SECRET}@db:5433/x?sslmode=require"
        assert loc.shown == f"{scheme}://u:***@db:5433/x?sslmode=require"
    assert mask(f"postgresql://u@/x?host=/s&password={SECRET}") == "postgresql://u@/x?host=/s&password=***"


def test_default_path_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == tmp_path / "pytest-vmtp" / "history.sqlite"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec: relative paths are invalid
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".local" / "share" / "pytest-vmtp" / "history.sqlite"


def test_unreachable_server(pg: PgServer):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    url = f"postgresql://vmtp:{SECRET}@127.0.0.1:{port}/x"
    text = _error(url)
    assert text == (f"history postgresql://vmtp:***@127.0.0.1:{port}/x: cannot open it: connection to server at "
                    f'"127.0.0.1", port {port} failed: Connection refused')
    assert _cli_error(url) == f"vmtp-history: {text}"


def test_a_server_that_never_answers_times_out():
    with socket.socket() as s:  # accepts TCP connections (backlog) but never speaks
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        port = s.getsockname()[1]
        started = time.monotonic()
        text = _error(f"postgresql://vmtp:{SECRET}@127.0.0.1:{port}/x", connect_timeout_s=1)
        took = time.monotonic() - started
    assert "cannot open it:" in text and "timeout expired" in text
    assert took < 10


def test_wrong_password(pg: PgServer, pg_database: str):
    url = pg.url(pg_database, password=SECRET)
    text = _error(url)
    assert text == (f"history postgresql://vmtp:***@127.0.0.1:{pg.port}/{pg_database}: cannot open it: connection "
                    f'to server at "127.0.0.1", port {pg.port} failed: FATAL: password authentication failed for '
                    'user "vmtp"')
    assert pg.password not in _cli_error(url)


def test_missing_database(pg: PgServer):
    text = _error(pg.url("no_such_db"))
    assert text.endswith('FATAL: database "no_such_db" does not exist') and pg.password not in text


def test_sqlite_places_that_cannot_hold_a_store(tmp_path):
    assert _error(str(tmp_path)) == f"history {tmp_path}: is a directory; give a file path such as " \
                                    f"{tmp_path}/history.sqlite"
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert _error(str(afile / "h.sqlite")) == f"history {afile}/h.sqlite: {afile} is a file, not a directory"
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database, just some bytes" * 100)
    assert _error(str(junk)) == f"history {junk}: cannot open it: file is not a database"
    assert _cli_error(str(junk)) == f"vmtp-history: history {junk}: cannot open it: file is not a database"
    missing = tmp_path / "missing.sqlite"
    assert _error(str(missing), create=False) == f"history {missing}: no such file yet (a pytest-vmtp run creates it)"
    assert not missing.exists()


def test_the_tests_never_write_the_users_own_history(tmp_path_factory):
    """tests/conftest.py points every run the tests start at a temp history."""
    assert default_path().is_relative_to(tmp_path_factory.getbasetemp())
