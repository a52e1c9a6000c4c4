"""pytest-vmtp runs storing themselves: in the default SQLite file, a given file, a real
PostgreSQL server and a MongoDB wire-protocol server, with their tags; a store that fails is
one line in the summary, never a failed run, and the JSON file is still written.

Quick runs use a native host that refuses at once (row 7.3 FAILS in a second: a row that ran);
the measured runs reach a real host over SSH in a namespace lab (tests/support/netns_hosts.py),
with pytest inside the lab's controller namespace: the SQLite file, PostgreSQL's socket and the
MongoDB server's socket are files, reached from there as from here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from pytest_vmtp.history import open_store
from pytest_vmtp.history.location import locate
from pytest_vmtp.history.schema import figures, runs
from tests.history.mongo_wire import wire_server
from tests.history.pg_server import PgServer
from tests.support.netns_hosts import NetnsLab, netns_hosts

SECRET = "Wr0ng-s3cret"
REFUSING_HOST = "root@127.0.0.1:1"  # nothing listens on port 1: the row fails at once
QUICK = ["-m", "native and icmp", "--vmtp-protocols", "I"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OS_CLOUD", "OS_CLIENT_CONFIG_FILE")}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    env["VMTP_LOCALCLOUD_STATE_DIR"] = str(tmp_path / "no-local-cloud")  # never the default cloud
    return env


def _pytest(tmp_path: Path, *args: str, netns: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider", *args]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    return subprocess.run(cmd, cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=300)


def _quick(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    key = tmp_path / "unused-key"
    key.touch()
    return _pytest(tmp_path, *QUICK, "--vmtp-host", f"{REFUSING_HOST},key={key}", *args)


def _notes(res: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in res.stdout.splitlines() if ln.startswith("vmtp: ") and " the history" in ln or
            ln.startswith("vmtp: ") and "MongoDB" in ln]


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "vmtp.yaml"
    path.write_text(text)
    return str(path)


# -- quick runs ---------------------------------------------------------------------------------
def test_a_run_stores_itself_in_the_default_file_with_its_tags(tmp_path: Path):
    res = _quick(tmp_path, "--vmtp-tag", "pre-upgrade", "--vmtp-tag", "nightly")
    default = tmp_path / "xdg" / "pytest-vmtp" / "history.sqlite"
    (run_id,) = {ln.split()[2] for ln in _notes(res)}
    assert _notes(res) == [f"vmtp: run {run_id} stored in the history {default} (tags: pre-upgrade, nightly)"]
    with open_store(str(default)) as store:
        (stored,) = store.list_runs()
        (doc,) = store.find("tag:pre-upgrade")
    assert (stored.run_id, stored.cloud, stored.tags, stored.failed) == (run_id, "local", ("nightly", "pre-upgrade"), 1)
    assert {f["scenario"]: f["status"] for f in doc["flows"]}["7.3"] == "FAILED"
    assert "Traceback" not in res.stdout + res.stderr


def test_no_history_and_runs_that_measured_nothing_are_not_stored(tmp_path: Path):
    default = tmp_path / "xdg" / "pytest-vmtp" / "history.sqlite"
    res = _quick(tmp_path, "--vmtp-no-history", f"--vmtp-json={tmp_path / 'a.json'}")
    assert res.returncode == 1 and _notes(res) == [] and (tmp_path / "a.json").exists()
    # Every selected row skipped (ICMP not selected): a JSON file, but no run to store.
    res = _pytest(tmp_path, "-m", "native and icmp", "--vmtp-protocols", "T", f"--vmtp-json={tmp_path / 'b.json'}")
    assert res.returncode == 0 and _notes(res) == [] and (tmp_path / "b.json").exists()
    assert not default.exists()


def test_an_interrupted_run_is_not_stored(tmp_path: Path):
    (tmp_path / "interrupt_after_row.py").write_text(
        "def pytest_runtest_logreport(report):\n"
        "    if report.when == 'teardown' and '7.3' in report.nodeid:\n"
        "        raise KeyboardInterrupt\n")
    res = _quick(tmp_path, "-p", "interrupt_after_row", f"--vmtp-json={tmp_path / 'r.json'}")
    assert res.returncode == pytest.ExitCode.INTERRUPTED, res.stdout[-2000:]
    assert _notes(res) == ["vmtp: the run was interrupted: not stored in the history"]
    assert (tmp_path / "r.json").exists() and not (tmp_path / "xdg").exists()


def test_a_store_that_fails_is_one_line_and_the_json_is_still_written(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = tmp_path / "r.json"
    cfg = _config(tmp_path, "mongod_timeout_s: 1\n")
    res = _quick(tmp_path, f"--vmtp-history={blocker}/h.sqlite", "--vmtp-mongod-server", "127.0.0.1:1",
                 "--vmtp-config", cfg, f"--vmtp-json={out}")
    assert _notes(res) == [
        f"vmtp: WARNING the run is not in the history: history {blocker}/h.sqlite: {blocker} is a file, "
        "not a directory",
        "vmtp: ERROR the run is not in MongoDB: MongoDB 127.0.0.1:1: no server answered within 1 s "
        "(is mongod running there and reachable?)",
    ]
    assert json.loads(out.read_text())["flows"] and "Traceback" not in res.stdout + res.stderr


def test_an_old_store_says_how_to_upgrade_it(tmp_path: Path):
    from tests.history.test_migrations import _old_store

    path = tmp_path / "old.sqlite"
    _old_store(str(path))
    res = _quick(tmp_path, f"--vmtp-history={path}")
    assert _notes(res) == [f"vmtp: WARNING the run is not in the history: history {path}: schema version 0001 is "
                           "older than this pytest-vmtp's (0002): run `vmtp-history upgrade --history "
                           f"{path}`"]


@pytest.mark.parametrize("args, message", [
    (["--vmtp-tag", "two words"], "--vmtp-tag 'two words': a tag is 1-64 letters, digits and . _ - + @ : (no spaces)"),
    (["--vmtp-tag", "x", "--vmtp-no-history"],
     "--vmtp-tag x: the run is not stored (--vmtp-no-history, history: false)"),
    (["--vmtp-history", "mysql://db/x"], "--vmtp-history mysql://db/x: unsupported kind of database 'mysql'"),
    (["--vmtp-mongod-server", "db:x"], "--vmtp-mongod-server 'db:x': give HOST[:PORT], e.g. db1:27017"),
])
def test_bad_options_stop_the_run_in_one_line(tmp_path: Path, args, message):
    res = _pytest(tmp_path, "-m", "native", *args)
    assert res.returncode == pytest.ExitCode.USAGE_ERROR
    assert message in res.stderr and "Traceback" not in res.stderr


def test_show_config_and_help(tmp_path: Path):
    res = _pytest(tmp_path, "--vmtp-show-config", "--vmtp-history", f"postgresql://vmtp:{SECRET}@db/h",
                  "--vmtp-tag", "pre-upgrade")
    assert res.returncode == 0 and SECRET not in res.stdout
    assert "history: postgresql://vmtp:<MASKED>@db/h\n" in res.stdout and "tags:\n- pre-upgrade\n" in res.stdout
    text = " ".join(_pytest(tmp_path, "--help").stdout.split())
    assert ("(default: $XDG_DATA_HOME/pytest-vmtp/history.sqlite, i.e. ~/.local/share/pytest-vmtp/history.sqlite)"
            in text)
    assert "--vmtp-no-history do not store the run in the history --vmtp-tag" in text


# -- measured runs in a namespace lab -------------------------------------------------------------
MEASURED = ["-m", "native", "--vmtp-protocols", "TI", "--vmtp-time", "1", "--vmtp-icmp-pkt-sizes", "64",
            "--vmtp-ping-count", "2"]


@pytest.fixture(scope="module")
def lab() -> Iterator[NetnsLab]:
    with netns_hosts(1) as lab:
        yield lab


def _measured(lab: NetnsLab, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    res = _pytest(tmp_path, *MEASURED, "--vmtp-host", lab.hosts[0].spec, *args, netns=lab.controller.netns)
    assert "Traceback" not in res.stdout + res.stderr
    return res


def _figures(url: str, run_id: str) -> set[tuple[str, str, str]]:
    engine = create_engine(locate(url).url)
    with engine.connect() as conn:
        rows = conn.execute(select(figures.c.scenario, figures.c.what, figures.c.metric)
                            .join(runs, runs.c.id == figures.c.run_pk).where(runs.c.run_id == run_id)).all()
    engine.dispose()
    return {tuple(r) for r in rows}


def test_measured_runs_land_in_sqlite_and_mongodb(lab: NetnsLab, tmp_path: Path):
    db, out = tmp_path / "team.sqlite", tmp_path / "r.json"
    with wire_server(uds_path=str(tmp_path / "mongodb-27017.sock")) as mongo:
        res = _measured(lab, tmp_path, f"--vmtp-history={db}", "--vmtp-tag", "pre-upgrade",
                        "--vmtp-mongod-server", mongo.address, f"--vmtp-json={out}")
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    written = json.loads(out.read_text())
    run_id = written["run_id"]
    assert _notes(res) == [
        f"vmtp: run {run_id} stored in the history {db} (tags: pre-upgrade)",
        f"vmtp: run {run_id} inserted into MongoDB {mongo.address} client_db.pns_web_entry",
    ]
    with open_store(str(db)) as store:
        assert store.find("tag:pre-upgrade") == [written]  # the document, as the JSON file has it
    assert {("7.1", "tcp 65536", "tp_kbps"), ("7.3", "icmp 64", "rtt_avg_ms")} <= _figures(str(db), run_id)
    ((insert),) = mongo.inserts
    (doc,) = insert["documents"]
    doc.pop("_id")
    assert (insert["db"], insert["collection"], doc) == ("client_db", "pns_web_entry", written)


def test_measured_runs_land_in_postgresql(lab: NetnsLab, tmp_path: Path, pg: PgServer, pg_database: str):
    out = tmp_path / "r.json"
    url = pg.socket_url(pg_database)
    first = _measured(lab, tmp_path, f"--vmtp-history={url}", "--vmtp-tag", "pre-upgrade", f"--vmtp-json={out}")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    before = json.loads(out.read_text())
    second = _measured(lab, tmp_path, f"--vmtp-history={url}", "--vmtp-tag", "post-upgrade", "--vmtp-tag",
                       "pre-upgrade", f"--vmtp-json={out}")
    assert second.returncode == 0
    after = json.loads(out.read_text())
    shown = locate(url).shown
    assert pg.password not in first.stdout + second.stdout and "vmtp:***@" in shown
    assert _notes(second) == [f"vmtp: run {after['run_id']} stored in the history {shown} "
                              "(tags: post-upgrade, pre-upgrade)"]
    with open_store(pg.url(pg_database)) as store:
        assert store.find("tag:pre-upgrade") == [after, before]
        assert store.find("tag:post-upgrade", cloud="local") == [after]
        assert [(r.run_id, r.passed) for r in store.list_runs()] == [(after["run_id"], 2), (before["run_id"], 2)]
    assert ("7.1", "tcp 65536", "tp_kbps") in _figures(pg.url(pg_database), before["run_id"])


def test_a_failing_store_never_fails_a_passing_run(lab: NetnsLab, tmp_path: Path, pg: PgServer, pg_database: str):
    out = tmp_path / "r.json"
    url = pg.socket_url(pg_database).replace(pg.password, SECRET)
    cfg = _config(tmp_path, "mongod_timeout_s: 1\n")
    res = _measured(lab, tmp_path, f"--vmtp-history={url}", "--vmtp-config", cfg, f"--vmtp-json={out}",
                    "--vmtp-mongod-server", str(tmp_path / "no-mongod.sock"))
    assert res.returncode == 0, res.stdout[-3000:]
    assert SECRET not in res.stdout + res.stderr + out.read_text()
    warning, error = _notes(res)
    assert warning == (f"vmtp: WARNING the run is not in the history: history {locate(url).shown}: cannot open it: "
                       f'connection to server on socket "{pg.socket_dir}/.s.PGSQL.{pg.port}" failed: FATAL: '
                       'password authentication failed for user "vmtp"')
    assert error.startswith(f"vmtp: ERROR the run is not in MongoDB: MongoDB {tmp_path}/no-mongod.sock: no server")
    assert {f["scenario"]: f["status"] for f in json.loads(out.read_text())["flows"]}["7.1"] == "PASSED"
